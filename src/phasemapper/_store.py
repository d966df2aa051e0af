"""A run directory: manifest, an SQLite (WAL) ledger of every evaluation, and sample arrays (netCDF)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import remove_dead_writers, write_atomically
from ._jsonfile import read_json
from ._lock import hold_directory
from ._types import Samples

__all__ = ["RunStore", "Evaluation"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY,          -- order of asking; also derives the evaluation's seed
    batch INTEGER NOT NULL,
    point TEXT NOT NULL,             -- JSON list, user units, axis order of the manifest's space
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    proba TEXT,                      -- JSON list over the phases (done rows)
    error TEXT,                      -- last error (failed attempts)
    asked REAL NOT NULL,             -- unix time
    finished REAL,
    seconds REAL,                    -- wall time of the successful (or last) attempt
    samples TEXT                     -- file under samples/, relative to the run directory
)
"""


@dataclass(frozen=True)
class Evaluation:
    """One row of the ledger."""

    id: int
    batch: int
    point: np.ndarray
    seed: int
    status: str
    attempts: int
    proba: np.ndarray | None
    error: str | None
    seconds: float | None


class RunStore:
    """A run directory on disk; every change is atomic, so a killed run resumes with nothing lost or duplicated.

    - ``manifest.json``: the campaign's spec (system, space, planner, labeler,
      model, priors, seeds, run limits) and package versions; written by
      rename, never half-written.
    - ``ledger.sqlite``: one row per evaluation (SQLite, in WAL mode while a
      writer has it open; each change is one transaction). A batch's rows are inserted ``pending`` in a
      single transaction *before* anything runs; a row becomes ``done`` in the
      same transaction that stores its probabilities, after its samples file is
      in place. A run killed at any moment therefore finds each evaluation
      either done (kept) or pending (evaluated again with the same seed).
    - ``samples/<id>.nc``: the samples of each done evaluation.
    - ``files/``: copies of the files the run's system and theory read (CALPHAD
      databases that are not built in), named by the manifest relative to the run.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from phasemapper._store import RunStore
    >>> store = RunStore.create(tempfile.mkdtemp() + "/run", {"spec": 1})
    >>> ids = store.add_batch(0, np.array([[0.5, 0.5]]), [7])
    >>> store.record_success(ids[0], np.array([0.2, 0.8]), 0.01)
    >>> [e.status for e in store.evaluations()]
    ['done']
    """

    MANIFEST, LEDGER, SAMPLES, THEORY, LOCK = "manifest.json", "ledger.sqlite", "samples", "theory.json", "run.lock"

    def __init__(self, path: str | os.PathLike, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if not (self.path / self.MANIFEST).is_file() or not (self.path / self.LEDGER).is_file():
            raise ValueError(
                f"{str(self.path)!r} is not a phasemapper run directory (no manifest.json and ledger.sqlite)"
            )
        self._connection: sqlite3.Connection | None = None
        self._write_ahead = False
        try:
            self._db.execute("SELECT id, batch, point, seed, status, attempts, proba FROM evaluations LIMIT 1")
        except sqlite3.DatabaseError as exc:  # not SQLite, or not our table: a damaged or foreign file
            self.close()
            raise ValueError(f"{str(self.path / self.LEDGER)!r} is not a phasemapper ledger ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        """The ledger: for a writer read-write; for a reader read-only, so that it changes
        nothing and works on a run it may not write (another user's, an archive)."""
        ledger = self.path / self.LEDGER
        if not self.readonly:  # write-ahead logging is switched on by the first write (see _transaction)
            return sqlite3.connect(ledger, isolation_level=None, timeout=30)
        uri = ledger.resolve().as_uri()
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=30)
        try:  # a writer may be at work: read through its write-ahead log, as SQLite does
            db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return db
        except sqlite3.OperationalError:  # a directory no one can write: SQLite cannot map its WAL index there,
            db.close()  # and no writer can be at work, so the file is read as it stands
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    @classmethod
    def create(
        cls, path: str | os.PathLike, manifest: dict[str, Any], files: dict[str, Path] | None = None
    ) -> RunStore:
        """Make a new run directory at ``path`` (absent, or an empty directory); refuses one that holds a run.

        The run is assembled whole (manifest, ledger, samples folder, and ``files``, ``{name inside the
        run: source path}``, copied in) in a private directory beside ``path`` and renamed onto it in one
        step, which succeeds for exactly one of several creators racing for the same ``path``: a kill
        leaves a whole run or none, and a second creator is refused.
        """
        path = cls.check_new(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_writers(path.parent, f".{path.name}.creating-")  # half-assembled runs of killed creators
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.creating-{os.getpid()}-", dir=path.parent))
        try:
            (staging / cls.SAMPLES).mkdir()
            _write_json_atomic(staging / cls.MANIFEST, manifest)
            _create_ledger(staging / cls.LEDGER)
            for name, source in (files or {}).items():  # files the run reads, kept with it
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, staging / name)
            os.rename(staging, path)  # replaces an empty directory; fails if anything is in it
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                held = (path / cls.LEDGER).exists()
                raise ValueError(
                    f"{str(path)!r} "
                    + (
                        "already holds a run (another process created it just now); "
                        "resume it or choose another directory"
                        if held
                        else "is not empty: a run is created in a new or empty directory"
                    )
                ) from None
            raise
        return cls(path)

    @classmethod
    def check_new(cls, path: str | os.PathLike) -> Path:
        """``path`` as a Path, if no run is there yet; a run there raises ``ValueError``."""
        path = Path(path)
        if (path / cls.LEDGER).exists():
            raise ValueError(f"{str(path)!r} already holds a run; resume it or choose another directory")
        return path

    @property
    def _db(self) -> sqlite3.Connection:
        """The open ledger connection, opened again after :meth:`close`."""
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def close(self) -> None:
        """Close the ledger; used again, it reopens.

        A writer's close folds its write-ahead log into the file and leaves it in rollback-journal mode, so
        a closed run is one plain SQLite file that readers open without creating anything beside it (the
        next writer turns WAL on again). If a reader has it open just then, the run stays in WAL mode."""
        if self._connection is None:
            return
        if self._write_ahead:
            self._write_ahead = False
            try:
                self._connection.execute("PRAGMA busy_timeout=0")
                self._connection.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.OperationalError:  # a reader holds it: it stays in WAL mode, equally valid
                pass
        self._connection.close()
        self._connection = None

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the run directory for one writer: a second campaign on it (``resume`` while the run is still
        going) raises ``ValueError`` instead of evaluating the same batch twice and renaming the same files.
        See :func:`~phasemapper._lock.hold_directory` (the lock file is ``run.lock``)."""
        return hold_directory(self.path, self.LOCK, "run", "wait for it to finish or stop it, then resume")

    # -------------------------------------------------------------- manifest
    def manifest(self) -> dict[str, Any]:
        """The manifest as a dict; a damaged file raises ``ValueError`` naming it."""
        path = self.path / self.MANIFEST
        manifest = read_json(path)
        if not isinstance(manifest, dict):
            raise ValueError(f"{str(path)!r} must hold a JSON object, got {type(manifest).__name__}")
        return manifest

    def update_manifest(self, **fields: Any) -> None:
        manifest = self.manifest()
        manifest.update(fields)
        _write_json_atomic(self.path / self.MANIFEST, manifest)

    # ---------------------------------------------------------------- theory
    def theory(self) -> dict[str, Any] | None:
        """The last theory refit (``theory.json``: parameters, sd, the prior field it gave the map), if any."""
        return read_theory(self.path)

    def write_theory(self, summary: dict[str, Any]) -> None:
        """Replace ``theory.json`` atomically."""
        _write_json_atomic(self.path / self.THEORY, summary)

    # ---------------------------------------------------------------- ledger
    def add_batch(self, batch: int, points: np.ndarray, seeds: Sequence[int]) -> list[int]:
        """Insert a batch of pending evaluations in one transaction; returns their ids."""
        now = time.time()
        with self._transaction() as db:
            start = db.execute("SELECT COALESCE(MAX(id), -1) + 1 FROM evaluations").fetchone()[0]
            db.executemany(
                "INSERT INTO evaluations (id, batch, point, seed, status, asked) VALUES (?, ?, ?, ?, 'pending', ?)",
                [
                    (start + i, batch, json.dumps([float(x) for x in p]), int(s), now)
                    for i, (p, s) in enumerate(zip(points, seeds))
                ],
            )
        return list(range(start, start + len(points)))

    def next_id(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(id), -1) + 1 FROM evaluations").fetchone()[0]

    def record_success(
        self,
        eval_id: int,
        proba: np.ndarray,
        seconds: float,
        samples: Samples | None = None,
        site_dims: Sequence[str] = (),
    ) -> None:
        """Store the samples (atomically), then mark the row done with its probabilities."""
        rel = None
        if samples is not None:
            rel = f"{self.SAMPLES}/{eval_id:06d}.nc"
            _write_samples(self.path / rel, samples, site_dims)
        with self._transaction() as db:
            db.execute(
                "UPDATE evaluations SET status='done', attempts=attempts+1, proba=?, finished=?, seconds=?, samples=?, "
                "error=NULL WHERE id=? AND status='pending'",
                (json.dumps([float(x) for x in proba]), time.time(), float(seconds), rel, eval_id),
            )

    def record_failure(self, eval_id: int, error: str, seconds: float, max_attempts: int) -> bool:
        """Count a failed attempt; the row stays pending (to retry) until ``max_attempts``. Returns True when final."""
        with self._transaction() as db:
            attempts = db.execute("SELECT attempts FROM evaluations WHERE id=?", (eval_id,)).fetchone()[0] + 1
            status = "failed" if attempts >= max_attempts else "pending"
            db.execute(
                "UPDATE evaluations SET status=?, attempts=?, error=?, finished=?, seconds=? WHERE id=?",
                (status, attempts, error[:2000], time.time(), float(seconds), eval_id),
            )
        return status == "failed"

    def evaluations(self, status: str | None = None) -> list[Evaluation]:
        query = "SELECT id, batch, point, seed, status, attempts, proba, error, seconds FROM evaluations"
        rows = self._db.execute(
            query + (" WHERE status=?" if status else "") + " ORDER BY id", (status,) if status else ()
        ).fetchall()
        return [
            Evaluation(
                r[0],
                r[1],
                np.array(json.loads(r[2])),
                r[3],
                r[4],
                r[5],
                None if r[6] is None else np.array(json.loads(r[6])),
                r[7],
                r[8],
            )
            for r in rows
        ]

    def n_batches(self) -> int:
        return self._db.execute("SELECT COALESCE(MAX(batch), -1) + 1 FROM evaluations").fetchone()[0]

    def load_samples(self, eval_id: int) -> Any:
        """The stored samples of a done evaluation as an xarray Dataset.

        A samples file that is missing or cannot be read (a full disk, a hand edit) raises
        ``ValueError`` naming it; the ledger and the other evaluations are untouched.
        """
        import xarray as xr

        rel = self._db.execute("SELECT samples FROM evaluations WHERE id=?", (eval_id,)).fetchone()
        if not rel or rel[0] is None:
            raise ValueError(f"evaluation {eval_id} has no stored samples")
        path = self.path / rel[0]
        try:
            with xr.open_dataset(path) as ds:
                return ds.load()
        except (OSError, ValueError) as exc:  # missing, truncated or not netCDF: a damaged run directory
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ValueError(f"samples of evaluation {eval_id}: {str(path)!r} cannot be read ({why})") from None

    # -------------------------------------------------------------- helpers
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction on the ledger. SQLite ends a transaction itself when the disk is full (and rolls it
        back), so the rollback here runs only if one is still open; a full disk or an I/O error on the ledger
        becomes an ``OSError`` naming ``ledger.sqlite``, as every other write of a run reports one."""
        with _disk_errors_as_os_error(self.path / self.LEDGER):
            if not self._write_ahead:  # a writer's first change: WAL with full syncs (a run only read stays as it is)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._write_ahead = True
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


# SQLite's extended codes reduced to their primary code (the low byte): a full disk, and the I/O errors
_SQLITE_DISK_ERRNO = {sqlite3.SQLITE_FULL: errno.ENOSPC, sqlite3.SQLITE_IOERR: errno.EIO}


@contextmanager
def _disk_errors_as_os_error(path: Path) -> Iterator[None]:
    """Re-raise SQLite's "database or disk is full" and "disk I/O error" as ``OSError`` with the ledger's path
    (the form the CLI turns into one line with the free space); other SQLite errors pass unchanged."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        code = _SQLITE_DISK_ERRNO.get((getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF)
        if code is None:
            raise
        raise OSError(code, str(exc), str(path)) from None


def read_theory(run: str | os.PathLike) -> dict[str, Any] | None:
    """``theory.json`` of a run directory, or None when the run has no theory."""
    path = Path(run) / RunStore.THEORY
    if not path.exists():
        return None
    return read_json(path)


def _create_ledger(path: Path) -> None:
    db = sqlite3.connect(path)  # a plain SQLite file: its first writer switches on write-ahead logging
    db.execute(_SCHEMA)
    db.commit()
    db.close()


def _write_json_atomic(path: Path, data: Any) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            json.dump(data, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())

    write_atomically(path, write)


def _write_samples(path: Path, samples: Samples, site_dims: Sequence[str]) -> None:
    import xarray as xr

    dims = ("sample",) + tuple(site_dims)
    if len(dims) != samples.configurations.ndim:
        dims = ("sample",) + tuple(f"site_{k}" for k in range(samples.configurations.ndim - 1))
    data: dict[str, tuple[Any, np.ndarray]] = {"configuration": (dims, samples.configurations)}
    data.update({name: ("sample", np.asarray(v)) for name, v in samples.observables.items()})
    attrs = {k: v for k, v in samples.metadata.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}
    write_atomically(path, xr.Dataset(data, attrs=attrs).to_netcdf)
