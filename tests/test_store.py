"""The run directory: created whole, one writer at a time, damage named in one line."""

from __future__ import annotations

import json

import pytest

import phasemapper as pm
from phasemapper.systems import ThreePhase

from cli_checks import one_error_line
from lock_holder import held_by_another_process


def test_a_run_directory_is_created_whole_or_not_at_all(tmp_path, monkeypatch):
    import sqlite3

    from phasemapper import _store

    monkeypatch.setattr(_store, "_SCHEMA", "CREATE TABLE broken (")  # fail half-way, as a kill there would
    with pytest.raises(sqlite3.OperationalError):
        _store.RunStore.create(tmp_path / "r", {"seed": 0})
    assert not (tmp_path / "r" / _store.RunStore.LEDGER).exists()  # no half-made ledger that says "holds a run"
    monkeypatch.undo()
    store = _store.RunStore.create(tmp_path / "r", {"seed": 0})  # the same directory works at once
    assert store.evaluations() == [] and store.manifest() == {"seed": 0}
    assert sorted(p.name for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")) == []  # nor a leftover


def test_a_run_directory_is_run_by_one_campaign_at_a_time(tmp_path):
    # `resume` typed while the run is still going used to evaluate the same batch twice and crash the first
    # run on a renamed temporary file; now the second campaign is refused, and freed once the first process ends
    system, kw = ThreePhase(), dict(executor=pm.SerialExecutor(), batch_size=4, seed=5)
    pm.Campaign(system, store=tmp_path / "run", **kw).run(budget=4, progress=False)
    with held_by_another_process(tmp_path / "run", "run.lock") as pid:
        with pytest.raises(ValueError, match=f"is being run by process {pid}"):
            pm.Campaign.resume(tmp_path / "run", executor=pm.SerialExecutor()).run(budget=8, progress=False)
    campaign = pm.Campaign.resume(tmp_path / "run", executor=pm.SerialExecutor())

    def nested(c, info):  # a second campaign of the same process on the same directory
        with pytest.raises(ValueError, match="is being run by"):
            pm.Campaign.resume(tmp_path / "run", executor=pm.SerialExecutor()).run(budget=12, progress=False)

    result = campaign.run(budget=8, callbacks=[nested], progress=False)
    assert len(result.points) == 8
    assert len(pm.Campaign.resume(tmp_path / "run", executor=pm.SerialExecutor()).run(budget=12, progress=False).points) == 12


def _drop_table(path):
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE evaluations")


@pytest.mark.parametrize("damage, words", [
    (lambda run: (run / "ledger.sqlite").write_text("garbage"), "ledger.sqlite' is not a phasemapper ledger"),
    (lambda run: _drop_table(run / "ledger.sqlite"), "no such table: evaluations"),
    (lambda run: (run / "manifest.json").write_text("{"), "manifest.json' is not valid JSON"),
    (lambda run: (run / "manifest.json").write_text("[1, 2]"), "must hold a JSON object, got list"),
    (lambda run: (run / "manifest.json").write_text("{}"), "unknown manifest format None"),
    (lambda run: (run / "manifest.json").write_text(json.dumps(
        {k: v for k, v in json.loads((run / "manifest.json").read_text()).items() if k != "space"})),
     "field 'space' is missing"),
])
def test_a_damaged_run_directory_gets_one_line_naming_the_file(tmp_path, capsys, damage, words):
    # a ledger or manifest that is not what the run wrote (a disk that filled up, a hand edit) is bad input:
    # resume, plot and report each say which file, exit 2, and change nothing
    from phasemapper.cli import main

    run = tmp_path / "run"
    main(["map", "three_phase", "--budget", "4", "--batch-size", "4", "--out", str(run), "--no-progress"])
    capsys.readouterr()
    damage(run)
    def files():  # SQLite's shared-memory index (-shm) is rewritten by any reader
        return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.endswith("-shm")}

    before = files()
    for argv in (["resume", str(run), "--no-progress"], ["plot", str(run)], ["report", str(run)]):
        line = one_error_line(capsys, argv)
        assert words in line, (argv, line)
    assert files() == before


def test_a_damaged_samples_file_is_a_value_error_naming_it_and_the_others_still_load(tmp_path):
    # a truncated or missing samples/<id>.nc (a full disk, a hand edit) is bad input, not xarray's OSError;
    # the ledger and the other evaluations' samples are untouched
    from phasemapper._store import RunStore

    run = tmp_path / "run"
    pm.Campaign(pm.systems.ThreePhase(), planner="grid", seed=0, store=run, batch_size=4).run(budget=4)
    store = RunStore(run)
    ids = [row.id for row in store.evaluations() if row.status == "done"]
    intact = store.load_samples(ids[0])
    damaged, missing = run / "samples" / f"{ids[1]:06d}.nc", run / "samples" / f"{ids[2]:06d}.nc"
    damaged.write_bytes(damaged.read_bytes()[:100])
    missing.unlink()
    for eval_id, path, why in ((ids[1], damaged, "HDF error"), (ids[2], missing, "No such file")):
        with pytest.raises(ValueError, match=rf"samples of evaluation {eval_id}: '.*{path.name}' cannot be read \(.*{why}"):
            store.load_samples(eval_id)
    assert store.load_samples(ids[0]).equals(intact)
    assert [row.status for row in store.evaluations()] == ["done"] * 4
