"""Run directories nothing can break: readers that only read, one writer always, a run there whole or not at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import phasemapper as pm
from phasemapper._store import RunStore
from phasemapper.cli import main
from phasemapper.systems import ThreePhase

CLI = [sys.executable, "-m", "phasemapper"]


@pytest.fixture
def run(tmp_path):
    path = tmp_path / "run"
    pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), store=path, seed=0).run(budget=16, progress=False)
    return path


def _contents(path: Path) -> dict[str, bytes]:
    """Every file of a run directory (SQLite's shared-memory index, which any reader maps, aside)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and not p.name.endswith("-shm")}


def test_plot_and_report_read_the_run_and_write_only_where_asked(run, tmp_path, capsys):
    before = _contents(run)
    main(["plot", str(run), "--out", str(tmp_path / "map.png")])
    main(["report", str(run), "--out", str(tmp_path / "report.html")])
    assert (tmp_path / "map.png").stat().st_size > 5000 and "<html" in (tmp_path / "report.html").read_text()
    assert _contents(run) == before  # not a byte of the run changed: no phase_map.nc, no map.json, no report


def test_readers_beside_a_resume_all_finish_and_the_run_is_whole(run, tmp_path):
    def start(*args):
        return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    procs = [start("resume", str(run), "--budget", "40", "--no-progress", "--workers", "1")]
    for k in range(3):
        procs += [start("report", str(run), "--out", str(tmp_path / f"r{k}.html")),
                  start("plot", str(run), "--out", str(tmp_path / f"p{k}.png"))]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    rows = RunStore(run).evaluations()
    assert len(rows) == 40 and len({r.id for r in rows}) == 40 and all(r.status == "done" for r in rows)
    assert not list(run.rglob("*.tmp"))


def test_a_run_nobody_may_write_is_read(run, tmp_path):
    # another user's run, or an archive: a copy no one may change (root writes anywhere: its files are made immutable)
    copy = tmp_path / "archive" / "run"
    shutil.copytree(run, copy)
    paths = [copy, *copy.rglob("*")]
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "-R", "+i", str(copy)], capture_output=True).returncode:
            pytest.skip("running as root on a file system without immutable files: no read-only run to be made")
    else:
        for p in paths:
            p.chmod(p.stat().st_mode & ~0o222)
    try:
        for command, out in (("plot", "map.png"), ("report", "report.html")):
            r = subprocess.run([*CLI, command, str(copy), "--out", str(tmp_path / out)], capture_output=True,
                               text=True, timeout=300)
            assert r.returncode == 0, r.stderr
            assert (tmp_path / out).stat().st_size > 5000
        assert _contents(copy) == _contents(run)
    finally:
        subprocess.run(["chattr", "-R", "-i", str(copy)], capture_output=True)
        for p in paths:
            p.chmod(p.stat().st_mode | 0o200)


def test_two_creators_of_one_run_one_wins_and_the_other_says_so_in_one_line(tmp_path):
    out = tmp_path / "race"
    for trial in range(4):
        target = out / str(trial)
        procs = [subprocess.Popen([*CLI, "map", "three_phase", "--budget", "8", "--workers", "1", "--out", str(target),
                                   "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outcomes = sorted((p.wait(timeout=300), p.stderr.read()) for p in procs)
        assert [code for code, _ in outcomes] == [0, 2], outcomes
        line = outcomes[1][1].strip().splitlines()
        assert len(line) == 1 and line[0].startswith("error: ") and (
            "already holds a run" in line[0] or "is being written" in line[0]), line
        rows = RunStore(target).evaluations()
        assert len(rows) == 8 and len({r.id for r in rows}) == 8
    subprocess.run([*CLI, "resume", str(out / "0"), "--budget", "12", "--no-progress"], check=True,
                   capture_output=True, timeout=300)


def test_a_run_is_either_not_there_or_has_its_limits(tmp_path, monkeypatch):
    path = tmp_path / "r"
    campaign = pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), store=path)
    assert not path.exists()  # built, not run: nothing on disk for a kill to leave half-made
    created = []
    real = RunStore.create.__func__

    def spy(cls, where, manifest, **kwargs):
        created.append(json.loads(json.dumps(manifest)))
        return real(cls, where, manifest, **kwargs)

    monkeypatch.setattr(RunStore, "create", classmethod(spy))
    campaign.run(budget=4, progress=False)
    assert created[0]["run"] == {"budget": 4, "entropy_goal": None, "time_limit": None}  # the limits are born with it
    assert pm.Campaign.resume(path, executor=pm.SerialExecutor()).run(progress=False).n_evaluations == 4


def test_a_run_keeps_the_database_it_reads_and_resumes_without_the_original(tmp_path):
    from importlib.resources import files

    tdb = tmp_path / "elsewhere" / "mine.tdb"
    tdb.parent.mkdir()
    shutil.copyfile(str(files("phasemapper") / "data" / "pbsn.tdb"), tdb)
    run = tmp_path / "run"
    experiment = pm.systems.Experiment(pm.systems.Calphad(str(tdb), ["PB", "SN"]))
    pm.Campaign(experiment, executor=pm.SerialExecutor(), store=run, batch_size=4).run(budget=4, progress=False)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["system"]["params"]["truth"]["database"] == "files/mine.tdb"
    assert (run / "files" / "mine.tdb").read_bytes() == tdb.read_bytes()
    tdb.unlink()  # the original is gone (or the run was sent to a colleague): the run reads its own copy
    resumed = pm.Campaign.resume(run, executor=pm.SerialExecutor()).run(budget=8, progress=False)
    assert resumed.n_evaluations == 8 and resumed.n_failed == 0
    # a manifest naming a file outside the run is refused, unless the user names the file to read
    moved = tmp_path / "mine-again.tdb"
    (run / "files" / "mine.tdb").rename(moved)
    manifest["system"]["params"]["truth"]["database"] = "../mine-again.tdb"
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="outside the run directory; name it yourself"):
        pm.Campaign.resume(run)
    resumed = pm.Campaign.resume(run, executor=pm.SerialExecutor(), database=moved).run(budget=12, progress=False)
    assert resumed.n_evaluations == 12 and resumed.n_failed == 0


@pytest.mark.parametrize("where", [("system", "truth"), ("theory", "model")])
def test_every_database_a_manifest_names_is_held_to_its_run_directory(tmp_path, where):
    # an Experiment's truth and a theory's model name databases too: each is resolved inside the run or refused,
    # and a file the user names replaces them all
    from phasemapper._manifest import with_run_files

    part, inner = where
    spec = {part: {"name": "x", "params": {inner: {"database": "../../../../etc/passwd"}}}}
    with pytest.raises(ValueError, match="reads the file '../../../../etc/passwd', outside the run directory"):
        with_run_files(spec, tmp_path)
    inside = {part: {"name": "x", "params": {inner: {"database": "files/a.tdb"}}}}
    assert with_run_files(inside, tmp_path)[part]["params"][inner]["database"] == str(tmp_path.resolve() / "files/a.tdb")
    named = with_run_files(spec, tmp_path, database="/data/mine.tdb")
    assert named[part]["params"][inner]["database"] == "/data/mine.tdb"
    assert spec[part]["params"][inner]["database"] == "../../../../etc/passwd"  # the manifest itself is unchanged


def test_what_killed_writers_left_is_removed_and_what_live_ones_write_is_kept(tmp_path):
    from phasemapper._atomic import write_atomically

    dead, live = 999_999_999, os.getpid()  # no process has a pid above the kernel's maximum (at most 2**22)
    (tmp_path / f"a.txt.{dead}-0f0f.tmp").write_text("half")
    (tmp_path / f"a.txt.{live}-0f0f.tmp").write_text("being written")
    (tmp_path / f".run.creating-{dead}-x1").mkdir()
    (tmp_path / f".run.creating-{live}-x2").mkdir()
    write_atomically(tmp_path / "a.txt", lambda tmp: tmp.write_text("done"))
    RunStore.create(tmp_path / "run", {"spec": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.txt", f"a.txt.{live}-0f0f.tmp", f".run.creating-{live}-x2", "run"])
