"""Campaigns: labelers, maps, planners (contract suite), metrics, store, campaign loop, crash safety, Dask, report."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_checks import one_error_line
from lock_holder import held_by_another_process

import phasemapper as pm
from phasemapper import Axis, Samples, Space
from phasemapper._store import RunStore
from phasemapper.labelers import (
    DetectorLabeler,
    DirectLabeler,
    OrderParameterLabeler,
    TasepLabeler,
)
from phasemapper.maps import GPClassifierMap, KNNMap, map_from_dict
from phasemapper.metrics import boundary_distance, misclassified_area
from phasemapper.planners import (
    Boundary,
    Grid,
    Random,
    Refine,
    Sobol,
    planner_from_dict,
)
from phasemapper.systems import TASEP, FunctionSystem, ThreePhase

SQUARE = Space([Axis("x", 0.0, 1.0), Axis("y", 0.0, 1.0)])


def _split(pts):
    return (np.asarray(pts)[:, 0] > 0.5).astype(int)


# ------------------------------------------------------------------ labelers
def test_order_parameter_labeler_closed_forms():
    rng = np.random.default_rng(0)
    # disordered: Gaussian m gives U4 = 0 exactly in expectation; ordered: m = +-m0 gives U4 = 2/3
    gauss = Samples(np.zeros((400, 1)), {"magnetization": rng.normal(0, 0.1, 400)})
    ordered = Samples(np.zeros((400, 1)), {"magnetization": 0.8 * rng.choice([-1.0, 1.0], 400)})
    lab = OrderParameterLabeler()
    assert lab(gauss, [3.0])[1] > 0.99
    assert lab(ordered, [1.0])[0] > 0.99
    with pytest.raises(ValueError, match="critical_value"):
        OrderParameterLabeler(critical_value=1.5)
    with pytest.raises(ValueError, match="observable 'q'"):
        OrderParameterLabeler(observable="q")(gauss, [1.0])


def test_tasep_labeler_against_exact_bulk_phases():
    system, lab = TASEP(L=100), TasepLabeler()
    points = np.array([[0.2, 0.8], [0.8, 0.2], [0.8, 0.8]])  # deep in LD, HD, MC (Derrida et al. 1993)
    got = [system.phases[int(np.argmax(lab(system.sample(p, 20, seed=1), p)))] for p in points]
    assert got == system.reference_phase(points).tolist()


def test_direct_and_detector_labelers():
    s = Samples(np.zeros((4, 0)), {"label": np.array([0.0, 2.0, 2.0, 2.0])})
    assert DirectLabeler(["a", "b", "c"])(s, [0.0]).tolist() == [0.25, 0.0, 0.75]
    lab = DetectorLabeler([pm.CriticalPoint("T", 2.0, 0.1, "x")], 0, ("lo", "hi"))
    # P(below) = Phi((2.0 - 2.1) / 0.1) = Phi(-1) = 0.158655
    assert lab(None, [2.1])[0] == pytest.approx(0.158655, abs=1e-5)


# ---------------------------------------------------------------------- maps
@pytest.mark.parametrize("cls", [GPClassifierMap, KNNMap])
def test_map_contract(cls, tmp_path):
    pts = SQUARE.sobol(64, seed=0)
    labels = _split(pts)
    grid = SQUARE.grid(11)
    m1 = cls(SQUARE, ["left", "right"]).fit(pts, labels)
    perm = np.random.default_rng(1).permutation(len(pts))
    m2 = cls(SQUARE, ["left", "right"]).fit(pts[perm], labels[perm])  # tell order does not matter
    np.testing.assert_allclose(m1.predict_proba(grid), m2.predict_proba(grid), atol=1e-9)
    m1.save(tmp_path / "m.json")
    m3 = map_from_dict(json.loads((tmp_path / "m.json").read_text()))
    np.testing.assert_allclose(m1.predict_proba(grid), m3.predict_proba(grid), atol=1e-9)
    assert misclassified_area(m1, lambda p: np.where(p[:, 0] > 0.5, "right", "left"), SQUARE, 50) < 0.05
    ent = m1.entropy(grid)
    assert np.all(ent >= 0) and np.all(ent <= np.log(2) + 1e-9)
    (b,) = m1.boundaries()
    line = np.concatenate([np.asarray(seg) for seg in b["lines"]])
    assert np.abs(line[:, 0] - 0.5).max() < 0.1
    with pytest.raises(ValueError, match="proba must have shape"):
        m1.fit(pts, np.ones((len(pts), 3)))
    with pytest.raises(ValueError, match="row 1 is all zeros"):
        m1.fit(pts[:3], np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="certainty"):
        m1.add_prior(region=[[0, 0], [1, 0], [1, 1]], phase="left", certainty=2)
    with pytest.raises(ValueError, match="phase 'up'"):
        m1.add_prior(region=[[0, 0], [1, 0], [1, 1]], phase="up", certainty=0.5)


def test_gp_prior_shows_without_data_and_low_certainty_prior_yields_to_data():
    region = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
    m = GPClassifierMap(SQUARE, ["left", "right"]).add_prior(region=region, phase="right", certainty=0.3)
    assert m.predict([[0.25, 0.5]]).tolist() == ["right"]  # the (wrong) prior, before any data
    pts = SQUARE.sobol(64, seed=0)
    m.fit(pts, _split(pts))
    assert misclassified_area(m, lambda p: np.where(p[:, 0] > 0.5, "right", "left"), SQUARE, 50) < 0.05


def test_gp_prior_weight_follows_the_data():
    region = [[0, 0], [0.5, 0], [0.5, 1], [0, 1]]
    pts = SQUARE.sobol(64, seed=0)
    right = GPClassifierMap(SQUARE, ["left", "right"]).add_prior(region=region, phase="left", certainty=0.8)
    wrong = GPClassifierMap(SQUARE, ["left", "right"]).add_prior(region=region, phase="right", certainty=0.8)
    assert right.fit(pts, _split(pts)).prior_weight_ > 0.8
    assert wrong.fit(pts, _split(pts)).prior_weight_ < 0.2


def test_gp_acquisition_is_the_chance_the_map_is_wrong():
    """Where noisy labels have settled the phase the acquisition is ~0 although the predicted probabilities stay
    uncertain (entropy well above 0); where the map's phase flips along a line across the boundary, and where no
    data are, it is near its two-phase maximum 1/2."""
    rng = np.random.default_rng(0)
    pts = SQUARE.sobol(128, seed=0) * [0.6, 1.0]  # no data on x > 0.6; the boundary is x = 0.3
    labels = (pts[:, 0] > 0.3) ^ (rng.random(len(pts)) < 0.1)  # 10% of the labels flipped
    m = GPClassifierMap(SQUARE, ["left", "right"]).fit(pts, labels.astype(int))
    settled, empty = [[0.05, 0.5]], [[1.0, 0.5]]
    across = np.column_stack([np.linspace(0.2, 0.4, 41), np.full(41, 0.5)])
    assert m.entropy(settled)[0] > 0.1  # label noise keeps the probabilities off 0 and 1 ...
    assert m.acquisition(settled)[0] < 1e-3  # ... but the phase there is not in doubt (BALD there: 0.009)
    assert m.acquisition(across).max() > 0.3
    assert m.acquisition(empty)[0] > 0.4


def _three_phase_priors(certainty, wrong=False):
    """The three regions of ThreePhase as a person would sketch them (11-point curve, straight lines)."""
    xs = np.linspace(0, 1, 11)
    curve = [[x, 0.65 + 0.12 * np.sin(2 * np.pi * x)] for x in xs]
    regions = {"A": [[0, 1], *curve, [1, 1]], "B": [[0, 0], [0.55, 0], [0.42, 0.44], [0, 0.65]],
               "C": [[0.55, 0], [1, 0], [1, 0.65], [0.42, 0.44]]}
    rename = {"A": "C", "B": "A", "C": "B"} if wrong else {k: k for k in regions}
    return [{"region": poly, "phase": rename[k], "certainty": certainty} for k, poly in regions.items()]


def test_priors_acceptance_on_the_synthetic_system():
    """Issue 6: with a correct prior the 2% misclassified area is reached with fewer evaluations; a wrong prior
    at certainty 0.3 costs at most 20% more (means over 4 seeds of the same campaigns, budget 300)."""
    from phasemapper.metrics import EvaluationsToAccuracy

    def evaluations(priors):
        out = []
        for seed in range(4):
            track = EvaluationsToAccuracy(ThreePhase(noise=0.05), target=0.02)
            pm.Campaign(ThreePhase(noise=0.05), planner="boundary", seed=seed, batch_size=8, priors=priors,
                        executor=pm.SerialExecutor()).run(budget=300, callbacks=[track], progress=False)
            out.append(track.evaluations or 300)
        return float(np.mean(out))

    none = evaluations(None)
    assert evaluations(_three_phase_priors(0.8)) < none
    assert evaluations(_three_phase_priors(0.3, wrong=True)) <= 1.2 * none


# ------------------------------------------------------------------ planners
PLANNERS = {
    "grid": lambda: Grid(SQUARE, points_per_axis=6, seed=3),
    "sobol": lambda: Sobol(SQUARE, seed=3),
    "random": lambda: Random(SQUARE, seed=3),
    "boundary": lambda: Boundary(SQUARE, ["left", "right"], n_initial=8, n_candidates=256, seed=3),
    "refine": lambda: Refine(SQUARE, initial=2, max_depth=3, seed=3),
}


def _drive(planner, rounds=3, n=6, shuffle=False, twice=False):
    for r in range(rounds):
        pts = planner.ask(n)
        vals = _split(pts)
        if shuffle:
            perm = np.random.default_rng(r).permutation(len(pts))
            pts, vals = pts[perm], vals[perm]
        planner.tell(pts, vals)
        if twice:
            planner.tell(pts, vals)
    return planner


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_planner_contract(name):
    a, b = _drive(PLANNERS[name]()), _drive(PLANNERS[name]())
    np.testing.assert_array_equal(a.ask(5), b.ask(5))  # reproducible with a seed
    c = _drive(PLANNERS[name](), twice=True)
    d = _drive(PLANNERS[name](), shuffle=True)
    ref = _drive(PLANNERS[name]()).ask(5)
    np.testing.assert_array_equal(c.ask(5), ref)  # telling the same data twice changes nothing
    np.testing.assert_array_equal(d.ask(5), ref)  # tell order does not matter
    e = _drive(PLANNERS[name]())
    e.ask(2)  # pending points survive the round trip
    f = planner_from_dict(json.loads(json.dumps(e.to_dict())))
    np.testing.assert_array_equal(e.ask(4), f.ask(4))  # save/load round-trips
    told = {tuple(p) for p in _drive(PLANNERS[name]()).data()[0]}
    g = _drive(PLANNERS[name]())
    new = g.ask(6)
    assert not told & {tuple(p) for p in new}  # never asks a told or pending point again
    with pytest.raises(ValueError, match="n must be"):
        g.ask(0)


def test_refine_finishes_a_one_dimensional_split():
    r = Refine(Space([Axis("x", 0, 1)]), initial=2, max_depth=4)
    while len(pts := r.ask(8)):
        r.tell(pts, (pts[:, 0] > 0.3).astype(int))
    x = np.sort(r.data()[0][:, 0])
    # the boundary is bracketed to the finest box, 1 / (2 * 2**4)
    lo, hi = x[x <= 0.3].max(), x[x > 0.3].min()
    assert hi - lo == pytest.approx(1 / 32)


# ------------------------------------------------------------------- metrics
def test_metrics_closed_forms():
    pred = lambda p: np.where(p[:, 0] > 0.6, "b", "a")  # noqa: E731
    ref = lambda p: np.where(p[:, 0] > 0.5, "b", "a")  # noqa: E731
    assert misclassified_area(pred, ref, SQUARE, 201) == pytest.approx(0.1, abs=0.01)
    d = boundary_distance(pred, ref, SQUARE, 201)
    assert d["mean"] == pytest.approx(0.1, abs=0.01) and d["hausdorff"] == pytest.approx(0.1, abs=0.01)


# ------------------------------------------------------------------ campaign
_CALLS: dict = {}


def _flaky(point, rng):
    """Raises on its first call at each point, returns NaN on the second, then a label."""
    key = (point["x"], point["y"])
    _CALLS[key] = _CALLS.get(key, 0) + 1
    if _CALLS[key] == 1:
        raise RuntimeError("instrument glitch")
    if _CALLS[key] == 2:
        return float("nan")
    return int(point["x"] > 0.5)


def test_failing_evaluations_are_recorded_and_retried(tmp_path):
    system = FunctionSystem(_flaky, SQUARE, phases=["left", "right"])
    c = pm.Campaign(system, planner="sobol", executor=pm.SerialExecutor(), batch_size=4, store=tmp_path / "r",
                    max_attempts=3)
    res = c.run(budget=8, progress=False)
    assert [e.status for e in res.evaluations] == ["done"] * 8
    assert all(e.attempts == 3 for e in res.evaluations)
    assert res.n_failed == 0 and res.failures.empty


def test_a_campaign_whose_first_batch_fails_stops_with_each_error_counted(tmp_path):
    # a lambda on the default pool (it travels with cloudpickle); every evaluation raises
    always = FunctionSystem(lambda p: 1 / 0, SQUARE, phases=["left", "right"])
    with pytest.raises(pm.EvaluationError) as err:
        pm.Campaign(always, planner="sobol", batch_size=4, store=tmp_path / "s", max_attempts=2).run(
            budget=40, progress=False)
    assert "no evaluation succeeded; 4 of 4 evaluations failed:\n  4 x ValueError: function: fn raised " \
           "ZeroDivisionError: division by zero (first at x=" in str(err.value)
    assert [f.attempts for f in err.value.failures] == [2] * 4
    assert [e.status for e in RunStore(tmp_path / "s").evaluations()] == ["failed"] * 4  # nothing more was asked


def _typo_left_of_a_line(p):
    return "left" if p["x"] < 0.3 else ("rihgt" if p["x"] > 0.6 else "right")


def test_a_run_with_some_failed_evaluations_warns_and_keeps_them_in_a_table(tmp_path):
    system = FunctionSystem(_typo_left_of_a_line, SQUARE, phases=["left", "right"])
    with pytest.warns(pm.PhaseMapperWarning, match=r"(\d+) of 24 evaluations failed; most common: ValueError: function: "
                      r"fn returned unknown phase 'rihgt': phases are \['left', 'right'\] \(\1 times\)"):
        res = pm.Campaign(system, planner="sobol", executor=pm.SerialExecutor(), store=tmp_path / "r",
                          max_attempts=1).run(budget=24, progress=False)
    table = res.failures
    assert len(table) == res.n_failed > 0 and (table["x"] > 0.6).all()
    assert list(table.columns) == ["x", "y", "attempts", "error"] and table.index.name == "key"
    assert res.n_failed == sum(e.status == "failed" for e in res.evaluations)


def _hangs_left(point):
    """Hangs for a minute left of x = 0.5 (long enough that a campaign waiting for it fails the test below)."""
    if point["x"] < 0.5:
        time.sleep(60)
    return int(point["x"] > 0.5)


def _kills_its_worker(point, marks):
    """Kills its own process (a crash in native code, the OOM killer): always left of x = 0.25, the first time at
    each point in [0.25, 0.5); returns a label right of x = 0.5. A death comes after 0.05 s and a label after
    0.3 s, so that most deaths happen while the other worker runs a call."""
    x = point["x"]
    mark = os.path.join(marks, f"{x:.9f}-{point['y']:.9f}")
    if x < 0.25 or (x < 0.5 and not os.path.exists(mark)):
        if x >= 0.25:
            open(mark, "w").close()
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.3)
    return int(x > 0.5)


def _worker_killing_system(tmp_path):
    """A FunctionSystem on :func:`_kills_its_worker`, and the directory where it marks the points that died once."""
    import functools

    marks = tmp_path / "marks"
    marks.mkdir()
    return FunctionSystem(functools.partial(_kills_its_worker, marks=str(marks)), SQUARE, phases=["left", "right"]), marks


def _alive_children():
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.is_alive()]


def test_a_hung_evaluation_times_out_and_frees_its_worker(tmp_path):
    """Hung calls fail by timeout on their own; those queued behind them (two workers, several hung) are not blamed."""
    system = FunctionSystem(_hangs_left, SQUARE, phases=["left", "right"])
    started = time.perf_counter()
    with pytest.warns(pm.PhaseMapperWarning, match=r"of 8 evaluations failed; most common: TimeoutError"):
        res = pm.Campaign(system, planner="sobol", executor=None, batch_size=8, store=tmp_path / "r", max_attempts=2,
                          timeout=0.5, seed=1).run(budget=8, progress=False)
    hung = np.array([e.point[0] < 0.5 for e in res.evaluations])
    assert 2 <= hung.sum() <= 6
    for e, h in zip(res.evaluations, hung):
        assert (e.status, e.attempts) == (("failed", 2) if h else ("done", 1)), e
        assert (e.error or "").startswith("TimeoutError: timeout after 0.5 s") == h
    # each hung attempt costs 0.5 s and a restart of the pool (fresh workers import the package, about a second):
    # all of them together stay below the length of a single hang, which no attempt may wait out
    assert time.perf_counter() - started < 60
    assert _alive_children() == []  # the hung workers were killed, not left sleeping


def test_a_dying_worker_is_replaced_and_only_the_call_that_killed_it_is_charged(tmp_path):
    """A dead worker fails every call in its pool. The calls cut short beside it run again alone, uncharged, so a
    point that always kills its worker fails after max_attempts, and no other point is charged for it."""
    from phasemapper._executors import default_executor

    system, marks = _worker_killing_system(tmp_path)
    with default_executor(2) as pool, pytest.warns(pm.PhaseMapperWarning, match="most common: BrokenProcessPool"):
        res = pm.Campaign(system, planner="sobol", executor=pool, batch_size=8, store=tmp_path / "r", max_attempts=2,
                          seed=1).run(budget=8, progress=False)
    x = np.array([e.point[0] for e in res.evaluations])
    always, once = x < 0.25, (x >= 0.25) & (x < 0.5)
    assert always.any() and once.any() and (x > 0.5).any()
    for e, a, o in zip(res.evaluations, always, once):
        if a:  # charged only when it ran alone, so exactly max_attempts times, and then given up
            assert (e.status, e.attempts) == ("failed", 2), e
            assert e.error.startswith("BrokenProcessPool: the worker process died")
        else:  # the one death of a die-once point is charged at most once; the rest never
            assert e.status == "done", e
            assert e.attempts <= (2 if o else 1), e
    assert len(list(marks.iterdir())) == once.sum()  # each die-once point died once, then succeeded


def test_a_pool_that_cannot_restart_stops_the_campaign_with_a_note_and_the_run_resumes(tmp_path):
    """A plain ProcessPoolExecutor refuses every call once a worker died: the campaign stops with a note saying
    where the run is and how to go on, and resuming it with a ProcessPool loses and repeats nothing."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from phasemapper._executors import default_executor

    system, _ = _worker_killing_system(tmp_path)
    with ProcessPoolExecutor(2) as pool, pytest.raises(BrokenProcessPool) as raised:
        pm.Campaign(system, planner="sobol", executor=pool, batch_size=8, store=tmp_path / "r", max_attempts=2,
                    seed=1).run(budget=8, progress=False)
    note = " ".join(getattr(raised.value, "__notes__", []))
    assert str(tmp_path / "r") in note and "phasemapper.ProcessPool" in note
    with default_executor(2) as pool, pytest.warns(pm.PhaseMapperWarning, match="most common: BrokenProcessPool"):
        res = pm.Campaign.resume(tmp_path / "r", system=system, executor=pool).run(progress=False)
    x = np.array([e.point[0] for e in res.evaluations])
    assert len(res.evaluations) == 8 and len({tuple(e.point) for e in res.evaluations}) == 8
    assert [e.status for e in res.evaluations] == ["failed" if v < 0.25 else "done" for v in x]


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


def test_resume_continues_to_the_same_result(tmp_path):
    system = ThreePhase()
    kw = dict(executor=pm.SerialExecutor(), batch_size=8, seed=5)
    full = pm.Campaign(system, store=tmp_path / "full", **kw).run(budget=48, progress=False)
    pm.Campaign(system, store=tmp_path / "part", **kw).run(budget=24, progress=False)
    resumed = pm.Campaign.resume(tmp_path / "part", executor=pm.SerialExecutor()).run(budget=48, progress=False)
    np.testing.assert_array_equal(full.points, resumed.points)
    np.testing.assert_allclose(full.phase_map["proba"], resumed.phase_map["proba"])
    with pytest.raises(ValueError, match="already holds a run"):
        pm.Campaign(system, store=tmp_path / "full", **kw)


def test_the_same_seed_gives_the_same_run_on_any_number_of_workers(tmp_path, monkeypatch):
    # the default batch does not follow the cores, and the planner hears each batch in ledger order, not in the
    # order calls finish; the system is a lambda, which reaches the pool's workers through cloudpickle
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    system = FunctionSystem(lambda p: "left" if p["x"] + 0.3 * p["y"] < 0.6 else "right", SQUARE,
                            phases=["left", "right"])
    runs = {}
    for name, executor in (("serial", pm.SerialExecutor()), ("one", pm.ProcessPool(1)), ("two", pm.ProcessPool(2))):
        campaign = pm.Campaign(system, executor=executor, seed=3, store=tmp_path / name)
        assert campaign.batch_size == 8
        runs[name] = campaign.run(budget=32, progress=False)
        executor.shutdown()
    for name in ("one", "two"):
        np.testing.assert_array_equal(runs[name].points, runs["serial"].points)
        np.testing.assert_array_equal(runs[name].phase_map["proba"], runs["serial"].phase_map["proba"])


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


def test_crash_safety_sigkill_ten_times(tmp_path):
    """Kill a running campaign process at random moments ten times; resume; compare with an uninterrupted run."""
    cli = [sys.executable, "-m", "phasemapper"]
    args = ["three_phase", "--budget", "96", "--batch-size", "8", "--seed", "2", "--workers", "2", "--no-progress"]
    subprocess.run(cli + ["map", *args, "--out", str(tmp_path / "ref")], check=True, capture_output=True)
    run = tmp_path / "killed"
    rng = random.Random(0)
    proc = subprocess.Popen(cli + ["map", *args, "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(10):
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not (run / "ledger.sqlite").exists():  # killed before the run directory existed: start again
            shutil.rmtree(run, ignore_errors=True)
            proc = subprocess.Popen(cli + ["map", *args, "--out", str(run)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            continue
        proc = subprocess.Popen(cli + ["resume", str(run), "--workers", "2", "--no-progress"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.wait()
    if proc.returncode != 0 or not (run / "phase_map.nc").exists():
        subprocess.run(cli + ["resume", str(run), "--no-progress"], check=True, capture_output=True)
    from phasemapper._store import RunStore

    rows = RunStore(run).evaluations()
    ref_rows = RunStore(tmp_path / "ref").evaluations()
    assert [e.id for e in rows] == list(range(96))  # nothing lost
    assert len({tuple(e.point) for e in rows}) == 96  # nothing evaluated twice
    assert all(e.status == "done" for e in rows)
    np.testing.assert_array_equal([e.point for e in rows], [e.point for e in ref_rows])
    a, b = pm.load(run / "phase_map.nc"), pm.load(tmp_path / "ref" / "phase_map.nc")
    np.testing.assert_allclose(a["proba"].values, b["proba"].values, atol=1e-9)


def test_dask_local_cluster_matches_process_pool(tmp_path):
    pytest.importorskip("distributed")
    from phasemapper._executors import dask_executor, default_executor, worker_count

    system = TASEP(L=30)
    kw = dict(batch_size=6, seed=1, n_samples=8)
    executor, close = dask_executor("local")
    try:
        assert worker_count(executor) == (os.cpu_count() or 1)  # one single-threaded worker per core
        a = pm.Campaign(system, executor=executor, store=tmp_path / "dask", **kw).run(budget=24, progress=False)
    finally:
        close()
    pool = default_executor(2)
    try:
        b = pm.Campaign(system, executor=pool, store=tmp_path / "pool", **kw).run(budget=24, progress=False)
    finally:
        pool.shutdown()
    np.testing.assert_array_equal(a.points, b.points)
    np.testing.assert_allclose(a.proba, b.proba)
    np.testing.assert_allclose(a.phase_map["proba"], b.phase_map["proba"])


# -------------------------------------------------------------------- report
def test_report_renders_in_headless_chromium(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium on this machine")
    from phasemapper.report import write_report

    pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), batch_size=8, store=tmp_path / "r").run(budget=32, progress=False)
    page = write_report(tmp_path / "r")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom"]
    dom = subprocess.run([browser, *flags, page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'data-images-ok="1"' in dom and 'data-images-failed="0"' in dom
    for section in ("summary", "boundaries", "critical-points", "accuracy", "evaluations", "provenance"):
        assert f'class="{section}"' in dom


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


def test_resuming_your_own_system_says_to_pass_it(tmp_path):
    system = FunctionSystem(lambda p: "left" if p["x"] < 0.5 else "right", SQUARE, phases=["left", "right"])
    pm.Campaign(system, executor=pm.SerialExecutor(), store=tmp_path / "r").run(budget=8, progress=False)
    with pytest.raises(ValueError, match=r"system 'function' is not a registered one .* pass it, "
                                         r"Campaign.resume\('.*r', system=...\)"):
        pm.Campaign.resume(tmp_path / "r")
    resumed = pm.Campaign.resume(tmp_path / "r", system=system, executor=pm.SerialExecutor()).run(budget=16,
                                                                                                   progress=False)
    assert resumed.n_evaluations == 16


def test_a_scratch_run_says_where_it_is_and_is_removed_when_python_exits(tmp_path):
    script = ("import phasemapper as pm\n"
              "from phasemapper.systems import ThreePhase\n"
              "r = pm.Campaign(ThreePhase(), executor=pm.SerialExecutor()).run(budget=8, progress=False)\n"
              "assert r.path.is_dir() and str(r.path) in repr(r)\n"
              "print(r.path)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    path = out.stdout.strip().splitlines()[-1]
    assert "phasemapper-run-" in path and not os.path.exists(path)


def test_provenance_names_the_host_the_command_the_commit_and_the_optional_packages(tmp_path):
    import json
    import platform

    ds = pm.scan(ThreePhase(), {"x": [0.2], "y": [0.3]}, 2, seed=0, executor=pm.SerialExecutor(), progress=False)
    versions = json.loads(ds.attrs["package_versions"])
    assert {"torch", "pycalphad", "scikit-learn"} <= set(versions)
    assert ds.attrs["host"] == platform.node() and ds.attrs["command"] == " ".join(sys.argv)
    head = subprocess.run(["git", "-C", os.path.dirname(pm.__file__), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:  # the package runs from a git checkout: its commit is recorded
        assert ds.attrs["phasemapper_git_commit"].split("+")[0] == head.stdout.strip()
    else:
        assert "phasemapper_git_commit" not in ds.attrs
    manifest = json.loads((pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), store=tmp_path / "r")
                           .store.path / "manifest.json").read_text())
    assert manifest["provenance"]["host"] == platform.node() and "torch" in manifest["versions"]


def test_the_licence_file_matches_the_package_metadata():
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and (root / "LICENSE").read_text().startswith("MIT License")
