"""Campaigns: the loop, failed and hung evaluations, dead workers, resume, crash safety, Dask, the report."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import phasemapper as pm
from phasemapper._store import RunStore
from phasemapper.systems import TASEP, FunctionSystem, ThreePhase

from square import SQUARE

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


def test_pool_workers_share_the_cores_between_their_thread_pools(monkeypatch):
    import os

    from phasemapper._executors import THREAD_VARIABLES, worker_thread_limits

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cores = os.cpu_count() or 1
    assert worker_thread_limits(cores) == dict.fromkeys(THREAD_VARIABLES, "1")
    assert worker_thread_limits(1) == dict.fromkeys(THREAD_VARIABLES, str(cores))
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # what the user set is kept
    assert "OMP_NUM_THREADS" not in worker_thread_limits(cores)
    monkeypatch.delenv("OMP_NUM_THREADS")
    with pm.ProcessPool(cores) as pool:
        seen = pool.submit(lambda: {n: os.environ.get(n) for n in THREAD_VARIABLES}).result()
    assert seen == dict.fromkeys(THREAD_VARIABLES, "1")
