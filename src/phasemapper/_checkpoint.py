"""A scan's finished points on disk, so a killed scan resumes where it stopped.

One file per finished point, written to a temporary name and renamed into place: a kill at any
moment leaves every point either whole or absent. The directory's ``spec.json`` records what was
scanned (systems, points, samples, seed); a checkpoint of another scan is refused, never mixed in.
Each point draws from its own child seed, so a resumed scan equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zipfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import write_atomically
from ._bits import PackedSites, pack_sites
from ._jsonfile import read_json
from ._lock import hold_directory

__all__ = ["ScanCheckpoint"]

_SPEC = "spec.json"


class ScanCheckpoint:
    """The finished points of one scan, in a directory.

    Parameters
    ----------
    path : str or os.PathLike
        The directory (created if missing).
    spec : dict
        What is scanned, JSON-serialisable; see :meth:`spec_of`. A directory holding
        another spec raises ``ValueError``.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> ck = ScanCheckpoint(tempfile.mkdtemp(), {"seed": 0})
    >>> ck.write(0, 3, np.array([[1, -1]], dtype=np.int8), {"energy": np.array([-2.0])}, {"algorithm": "wolff"})
    >>> ck.done(0)
    [3]
    >>> configurations, observables, metadata = ck.read(0, 3)
    >>> configurations.bits.nbytes, float(observables["energy"][0]), metadata["algorithm"]
    (1, -2.0, 'wolff')
    """

    def __init__(self, path: str | os.PathLike, spec: dict[str, Any]) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(
                f"checkpoint {str(self.path)!r}: cannot create the directory ({exc.strerror or exc})"
            ) from None
        spec = json.loads(json.dumps(spec))  # as it reads back
        spec_path = self.path / _SPEC
        if spec_path.exists():
            held = read_json(spec_path, "checkpoint ", "; remove the checkpoint or write elsewhere")
            if not isinstance(held, dict):
                held = {"spec.json": held}
            if held != spec:
                differ = sorted(k for k in set(held) | set(spec) if held.get(k) != spec.get(k))
                raise ValueError(
                    f"checkpoint {str(self.path)!r} holds another scan (it differs in "
                    f"{', '.join(differ)}); remove it or write elsewhere"
                )
        else:
            write_atomically(spec_path, lambda tmp: tmp.write_text(json.dumps(spec, indent=1)))

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the checkpoint for one scan (lock file ``scan.lock``): a second scan into it raises ``ValueError``."""
        return hold_directory(
            self.path, "scan.lock", "written", "wait for that scan to finish, or give this one another checkpoint"
        )

    @staticmethod
    def spec_of(systems: list[Any], points: list[np.ndarray], n_samples: int, seed: int) -> dict[str, Any]:
        """The spec of scanning ``systems`` (each at its points) with ``n_samples`` and root ``seed``."""
        return {
            "systems": [{"name": s.name, "params": s.params()} for s in systems],
            "points": [hashlib.sha256(np.ascontiguousarray(p, dtype=float).tobytes()).hexdigest() for p in points],
            "n_points": [len(p) for p in points],
            "n_samples": n_samples,
            "seed": seed,
        }

    def _file(self, system: int, point: int) -> Path:
        return self.path / f"s{system}" / f"p{point:07d}.npz"

    def done(self, system: int) -> list[int]:
        """Indices of the finished points of system ``system`` (its position in the scan), sorted."""
        folder = self.path / f"s{system}"
        if not folder.is_dir():
            return []
        return sorted(int(f.name[1:-4]) for f in folder.glob("p*.npz"))

    def write(
        self,
        system: int,
        point: int,
        configurations: np.ndarray | PackedSites,
        observables: dict[str, np.ndarray],
        metadata: dict[str, Any],
    ) -> None:
        """Store one finished point (two-valued configurations one bit per site)."""
        packed = pack_sites(configurations) if isinstance(configurations, np.ndarray) else configurations
        arrays: dict[str, Any] = {f"obs_{k}": np.asarray(v) for k, v in observables.items()}
        arrays["metadata"] = np.array(json.dumps(metadata, default=_plain))
        if isinstance(packed, PackedSites):
            arrays.update(
                bits=packed.bits,
                shape=np.array(packed.shape),
                dtype=np.array(packed.dtype.str),
                low_high=np.array([packed.low, packed.high]),
            )
        else:
            arrays["configurations"] = packed
        target = self._file(system, point)
        target.parent.mkdir(exist_ok=True)
        write_atomically(target, lambda tmp: _save_npz(tmp, arrays))

    def read_done(
        self, system: int
    ) -> dict[int, tuple[np.ndarray | PackedSites, dict[str, np.ndarray], dict[str, Any]]]:
        """Every finished point of system ``system`` that reads back whole, as :meth:`read` gives it.

        A damaged file (a disk that filled up or failed; a kill cannot leave one) is skipped with a warning:
        the point is sampled again from its own seed, and the new file replaces it.
        """
        points = {}
        for i in self.done(system):
            try:
                points[i] = self.read(system, i)
            except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
                warnings.warn(
                    f"checkpoint {str(self._file(system, i))!r} is damaged ({type(exc).__name__}: {exc}); "
                    "sampling that point again",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return points

    def read(self, system: int, point: int) -> tuple[np.ndarray | PackedSites, dict[str, np.ndarray], dict[str, Any]]:
        """One stored point as ``(configurations, observables, metadata)``, as the sampler returned it."""
        with np.load(self._file(system, point), allow_pickle=False) as f:
            observables = {k[4:]: f[k] for k in f.files if k.startswith("obs_")}
            metadata = json.loads(str(f["metadata"]))
            if "bits" in f.files:
                low, high = (int(v) for v in f["low_high"])
                configurations: np.ndarray | PackedSites = PackedSites(
                    tuple(int(n) for n in f["shape"]), np.dtype(str(f["dtype"])), low, high, f["bits"]
                )
            else:
                configurations = f["configurations"]
        return configurations, observables, metadata


def _plain(value: Any) -> Any:
    """JSON form of numpy scalars and arrays in a point's metadata."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON-serialisable")


def _save_npz(path: Path, arrays: dict[str, Any]) -> None:
    with open(path, "wb") as fh:  # a file object: np.savez would append ".npz" to a path
        np.savez(fh, **arrays)
