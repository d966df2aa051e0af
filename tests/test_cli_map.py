"""The map command: failed evaluations shown, bad input refused in one line, full disks survived."""

from __future__ import annotations

import contextlib
import functools
import re

import pytest

from phasemapper._store import RunStore
from phasemapper.systems import FunctionSystem

from cli_checks import one_error_line
from square import SQUARE


# ----------------------------------------------------------------------- CLI
def _typo_right_of(edge):
    def label(p):
        return "left" if p["x"] < edge else "rihgt"
    return label


class _Typos(FunctionSystem):
    """A registered system whose function misspells a phase right of ``edge``: those evaluations fail."""

    def __init__(self, edge=0.8):
        super().__init__(_typo_right_of(edge), SQUARE, phases=["left", "right"], name="typos")
        self.edge = edge

    def params(self):
        return {"edge": self.edge}


@pytest.mark.parametrize("edge, status", [(0.8, 0), (0.2, 3)])
def test_cli_map_shows_failed_evaluations_and_exits_3_when_more_than_half_failed(tmp_path, capsys, monkeypatch,
                                                                                 edge, status):
    from phasemapper.cli import console, main
    from phasemapper.systems import _base

    monkeypatch.setitem(_base.SYSTEMS._entries, "typos", functools.partial(_Typos, edge=edge))
    monkeypatch.setattr(console, "width", 400)  # a wide terminal: no line is wrapped
    run = tmp_path / "run"
    with pytest.raises(SystemExit) if status else contextlib.nullcontext() as exited:
        main(["map", "typos", "--planner", "sobol", "--budget", "16", "--workers", "1", "--out", str(run),
              "--no-progress"])
    out, err = capsys.readouterr()
    n_failed = sum(e.status == "failed" for e in RunStore(run).evaluations())
    assert 0 < n_failed and (2 * n_failed > 16) == bool(status)
    assert f"{n_failed} of 16 evaluations failed" in out and "fn returned unknown phase 'rihgt'" in out
    assert (exited.value.code if status else 0) == status
    assert f"warning: {n_failed} of 16 evaluations failed; most common: ValueError" in err
    report = (run / "report.html").read_text()
    assert 'id="failures"' in report and f"{n_failed} of 16 evaluations failed for good" in report


def test_cli_map_bad_input_exits_2(tmp_path, capsys):
    for argv in (["map", "three_phase", "--axis", "z=0:1", "--out", str(tmp_path / "a")],
                 ["map", "three_phase", "--planner", "nope", "--out", str(tmp_path / "b")],
                 ["map", "three_phase", "--prior", str(tmp_path / "missing.json"), "--out", str(tmp_path / "c")],
                 ["resume", str(tmp_path / "none")]):
        one_error_line(capsys, argv)


@pytest.mark.parametrize("args, words", [
    (["--budget", "0"], "--budget must be >= 1"),
    (["--entropy-goal", "-1"], "--entropy-goal must be a finite positive number"),
    (["--time-limit", "nan"], "--time-limit must be a finite positive number of seconds"),
    (["--workers", "0"], "--workers"),
    (["--dask", "notaurl"], "--dask 'notaurl'"),
    (["--flip", "0.1"], "--flip: only with --experiment"),
    (["--detection-limit", "0.1"], "--detection-limit: only with --experiment"),
    (["--components", "A,B"], "--components: only for calphad"),
    # checked by the campaign itself, after --out is created: the empty directory is removed again
    (["--batch-size", "0"], "--batch-size must be >= 1"),
    (["--timeout", "0"], "--timeout must be a finite positive number"),
    (["--samples", "0"], "--samples must be >= 1"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--model", "nope"], "unknown map 'nope'"),
])
def test_cli_map_typo_leaves_no_run_behind(tmp_path, capsys, args, words):
    # every option is checked before the run directory is created: the corrected command then runs in the same --out
    out = tmp_path / "run"
    line = one_error_line(capsys, ["map", "three_phase", "--budget", "4", *args, "--out", str(out), "--no-progress"])
    assert words in line, line
    assert not out.exists()


def test_cli_map_and_scan_refuse_an_unusable_out(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for argv in (["map", "three_phase", "--budget", "4"], ["scan", "ising2d", "--axis", "T=2:2.5:3", "--size", "4"]):
        line = one_error_line(capsys, [*argv, "--out", str(tmp_path / "file" / "run"), "--no-progress"])
        assert "--out" in line and "cannot create" in line, line


def test_a_full_disk_ends_map_with_one_line_and_resume_finishes_the_run(tmp_path, capsys, monkeypatch):
    # a disk that fills up while a samples file is written: netCDF leaves a partial file and raises an OSError that
    # names no file. The command says which file, how much space is left, that the finished work is kept and how
    # to continue; no temporary is left; resume then finishes the run with every evaluation once in the ledger
    import errno

    from phasemapper import _store
    from phasemapper.cli import main

    run, real, calls = tmp_path / "run", _store._write_samples, []

    def fills_up(path, samples, site_dims):
        calls.append(path)
        if len(calls) == 6:
            def write(tmp):
                tmp.write_bytes(b"CDF")
                raise OSError(errno.ENOSPC, "No space left on device")
            _store.write_atomically(path, write)
        real(path, samples, site_dims)

    monkeypatch.setattr(_store, "_write_samples", fills_up)
    line = one_error_line(capsys, ["map", "three_phase", "--budget", "12", "--batch-size", "4", "--out", str(run),
                                    "--no-progress"])
    assert re.search(rf"No space left on device: '{re.escape(str(calls[-1]))}\.\d+-[0-9a-f]+\.tmp'; ", line), line
    assert "free on its disk; what finished is kept: run `phasemapper resume" in line, line
    assert not list((run / "samples").glob("*.tmp"))
    assert [row.status for row in _store.RunStore(run).evaluations()].count("done") == 5
    monkeypatch.setattr(_store, "_write_samples", real)
    main(["resume", str(run), "--no-progress"])
    rows = _store.RunStore(run).evaluations()
    assert [(row.status, row.attempts) for row in rows] == [("done", 1)] * 12 and len({row.id for row in rows}) == 12
    assert len(list((run / "samples").iterdir())) == 12


def test_a_full_ledger_ends_map_with_one_line_naming_it_and_resume_finishes_the_run(tmp_path, capsys, monkeypatch):
    # SQLite ends (rolls back) a transaction itself when the disk is full, so a ROLLBACK after it used to fail with
    # "cannot rollback - no transaction is active" and a traceback. PRAGMA max_page_count gives the same
    # SQLITE_FULL as a full disk: the command now says "database or disk is full" with the ledger's path in one
    # line, and resume finishes the run with every evaluation once, each evaluated once
    from phasemapper import _store
    from phasemapper.cli import main

    run, real_init = tmp_path / "run", _store.RunStore.__init__

    def capped(self, path):
        real_init(self, path)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count={pages}")  # the ledger cannot grow by a page

    monkeypatch.setattr(_store.RunStore, "__init__", capped)
    line = one_error_line(capsys, ["map", "three_phase", "--budget", "40", "--batch-size", "20", "--out", str(run),
                                    "--no-progress"])
    assert f"database or disk is full: '{run / 'ledger.sqlite'}'; " in line, line
    assert "what finished is kept: run `phasemapper resume" in line, line
    store = _store.RunStore(run)
    kept = store.evaluations()
    assert 0 < len(kept) < 40 and store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()
    monkeypatch.setattr(_store.RunStore, "__init__", real_init)
    main(["resume", str(run), "--no-progress"])
    rows = _store.RunStore(run).evaluations()
    assert [(row.status, row.attempts) for row in rows] == [("done", 1)] * 40 and len({row.id for row in rows}) == 40


# one of the three training systems: the contract suite samples each; this is the command line's path to them
@pytest.mark.parametrize("name, small", [
    ("gan_particles", {"steps": 40, "n_particles": 8, "hidden": 8, "batch_size": 16}),
])
def test_cli_maps_a_training_system_by_its_registered_name(tmp_path, capsys, monkeypatch, name, small):
    from phasemapper import load_run
    from phasemapper.cli import console, main
    from phasemapper.systems import _base

    factory = _base.SYSTEMS._entries[name]
    monkeypatch.setitem(_base.SYSTEMS._entries, name, functools.partial(factory, **small))
    monkeypatch.setattr(console, "width", 200)
    run = tmp_path / "run"
    with contextlib.suppress(SystemExit):
        main(["map", name, "--budget", "8", "--samples", "3", "--workers", "1", "--out", str(run), "--no-progress"])
    out = capsys.readouterr().out
    result = load_run(run)
    assert result.n_evaluations == 8 and result.n_failed == 0
    assert set(result.labels) <= set(factory.phases) and all(p in out for p in factory.phases)
