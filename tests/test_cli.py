import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import phasemapper as pm
from phasemapper._checkpoint import ScanCheckpoint
from phasemapper.study import CHECKPOINT
from phasemapper.systems import Ising2D

from lock_holder import held_by_another_process

CLI = [sys.executable, "-m", "phasemapper"]


def run(*args, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_systems_lists_ising():
    r = run("systems")
    assert r.returncode == 0
    assert "ising2d" in r.stdout and "ferro" in r.stdout and "2.26919" in r.stdout


def test_scan_writes_outputs(tmp_path):
    out = tmp_path / "ising"
    r = run("scan", "ising2d", "--axis", "T=1.9:2.7:9", "--size", "8,12", "--samples", "80", "--seed", "1",
            "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sizes"] == [8, 12]
    methods = {cp["method"] for cp in summary["critical_points"]}
    assert "binder_crossing" in methods
    for cp in summary["critical_points"]:
        assert cp["exact"] == pytest.approx(2.269185314, rel=1e-9) and cp["uncertainty"] > 0
    assert (out / "observables.png").stat().st_size > 10_000
    scans = pm.load(out / "scan.nc")
    assert sorted(scans) == [8, 12] and scans[8].sizes["point"] == 9


@pytest.mark.parametrize(
    "args, words",
    [
        (["scan", "nosuch", "--axis", "T=1:2:3"], "unknown system 'nosuch'"),
        (["scan", "ising2d", "--axis", "T=1.8:2.8"], "--axis 'T=1.8:2.8'"),
        (["scan", "ising2d", "--axis", "T"], "--axis 'T'"),
        (["scan", "ising2d", "--axis", "T=bad"], "--axis 'T=bad'"),
        (["scan", "ising2d", "--axis", "T=1:x:3"], "--axis 'T=1:x:3'"),
        (["scan", "ising2d", "--axis", "T=2:1:3"], "LOW must be below HIGH"),
        (["scan", "ising2d", "--axis", "T=-1:2:3"], "axis 'T': temperature must be > 0"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--size", "1"], "--size 1: L must be >= 2"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--size", "x"], "--size"),
        (["scan", "ising2d", "--axis", "beta=1:2:3"], "unknown axis 'beta'"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--samples", "abc"], "--samples"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--detect", "pca,nosuch"], "unknown detector 'nosuch'"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--detect", ","], "--detect"),
        (["scan", "blume_capel2d", "--axis", "D=0,1", "--axis", "T=1:2:5", "--detect", "pca"], "--axis 'D'"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--detect", "divergence:nosuch=1"], "has no option 'nosuch'"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--detect", "divergence:locate"], "must be KEY=VALUE"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--detect", "pca,pca"], "given twice"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--workers", "0"], "--workers must be >= 1"),
        # checked by the sampler, after --out is created: the empty directory is removed again
        (["scan", "ising2d", "--axis", "T=1:2:3", "--size", "4", "--samples", "0"], "--samples must be >= 1"),
        (["scan", "ising2d", "--axis", "T=1:2:3", "--size", "4", "--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, args, words):
    r = run(*args, "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "x").exists()  # nothing left behind: the corrected command can use the same --out


def scan_summary(out, *args):
    """Run ``phasemapper scan *args`` into ``out`` and return its summary.json."""
    r = run("scan", *args, "--out", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    return json.loads((out / "summary.json").read_text())


def test_scan_detect_adds_curves_and_estimates(tmp_path):
    out = tmp_path / "det"
    summary = scan_summary(out, "ising2d", "--axis", "T=1.8:2.8:11", "--size", "8,12", "--samples", "60", "--seed", "2",
                           "--detect", "observables,pca,optimal")
    assert set(summary["detectors"]) == {"observables", "pca", "optimal"}
    detectors = {cp["detector"] for cp in summary["critical_points"]}
    assert detectors == {"observables", "pca", "optimal"}
    assert (out / "detectors.png").stat().st_size > 10_000


def test_scan_detect_on_2d_grid_compares_each_line_with_its_reference(tmp_path):
    out = tmp_path / "bc"
    summary = scan_summary(out, "blume_capel2d", "--axis", "T=1.0:2.0:9", "--axis", "D=0,1", "--size", "6,8",
                           "--samples", "40", "--detect", "observables,pca")
    # literature Tc(D) of the system's docstring: D = 0 1.693 (Kwak et al. 2015), D = 1 1.398 (Malakis et al. 2010)
    literature = {0.0: 1.693, 1.0: 1.398}
    seen = set()
    for cp in summary["critical_points"]:
        D = cp["at"]["D"]
        assert cp["exact"] == literature[D] and cp["error"] == pytest.approx(cp["value"] - literature[D])
        seen.add((cp["detector"], D))
    assert seen == {(d, D) for d in ("observables", "pca") for D in (0.0, 1.0)}
    assert set(summary["binder_crossings"]) == {"D=0", "D=1"}
    assert (out / "boundaries.png").stat().st_size > 10_000


def test_scan_detect_snake_reads_a_2d_grid(tmp_path):
    # the snake's crossings of each D line are compared with the literature line like any detector's
    summary = scan_summary(tmp_path / "snake", "blume_capel2d", "--axis", "T=1.0:2.2:7", "--axis", "D=0,0.75,1.5",
                           "--size", "8", "--samples", "20", "--detect",
                           "snake:features=magnetization+energy:n_iterations=80:n_runs=2:n_nodes=5")
    rows = [cp for cp in summary["critical_points"] if cp["detector"] == "snake"]
    assert sorted(cp["at"]["D"] for cp in rows) == [0.0, 0.75, 1.5]
    for cp in rows:
        assert cp["method"] == "snake 0" and abs(cp["error"]) < 0.25, cp


def test_scan_at_fixed_D_compares_with_that_line(tmp_path):
    summary = scan_summary(tmp_path / "bc1", "blume_capel2d", "--axis", "T=1.0:2.0:9", "--axis", "D=1", "--size", "6",
                           "--samples", "40", "--detect", "pca")
    assert summary["critical_points"] and all(cp["exact"] == 1.398 for cp in summary["critical_points"])


def test_detector_options_reach_the_detector(tmp_path):
    # open TASEP at beta = 0.8: the low-density phase meets the maximal-current phase at alpha = 1/2
    # (Derrida, Evans, Hakim & Pasquier 1993); the divergence steps down there, so it is read with
    # locate=drop, and the summary records the options it was given. On this small scan (L = 50, 40
    # samples) the default peak reading finds no interior peak at all, so the one estimate below exists
    # only if the option reached the detector; its accuracy is benchmarked at L = 100 in bench_detectors
    summary = scan_summary(tmp_path / "tasep", "tasep", "--axis", "alpha=0.2:0.8:13", "--axis", "beta=0.8",
                           "--size", "50", "--samples", "40", "--detect", "divergence:locate=drop:n_bootstrap=20")
    assert summary["detector_options"] == {"divergence": {"locate": "drop", "n_bootstrap": 20}}
    (cp,) = summary["critical_points"]
    assert cp["exact"] == pytest.approx(0.5, abs=1e-6) and cp["method"] == "prediction_divergence L=50"


def test_importing_the_analysis_during_sampling_tolerates_a_missing_module(monkeypatch):
    # the scan command imports the analysis' modules while the pool samples; a module that cannot be
    # imported must not abort the scan there (the analysis reports it after scan.nc is written)
    from phasemapper import study

    monkeypatch.setitem(sys.modules, "netCDF4", None)  # "import netCDF4" now raises ImportError
    with pytest.raises(ImportError):
        import netCDF4  # noqa: F401
    assert study._import_analysis() is None


def test_a_killed_scan_resumes_with_nothing_lost_or_repeated(tmp_path):
    # SIGKILL the scan command three times as its points arrive; the same command then finishes the scan,
    # sampling only the points not yet stored, and scan.nc equals an uninterrupted scan's. L = 64: at L = 24
    # the fast kernels sample all 12 points in 0.4 s, and a kill polled under load could land after the pool
    # had finished (no workers left to check); at 64 the last four points take about 0.9 s
    import signal
    import time

    out = tmp_path / "scan"
    args = [*CLI, "scan", "ising2d", "--axis", "T=2.0:2.6:12", "--size", "64", "--samples", "1500", "--seed", "4",
            "--workers", "1", "--out", str(out), "--no-progress"]
    points = out / CHECKPOINT / "s0"
    stored = 0
    for kill_after in (2, 5, 8):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None and len(list(points.glob("p*.npz"))) < kill_after:
            time.sleep(0.01)
        workers = _children(proc.pid)
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert running, f"the scan ended by itself before {kill_after} points were stored: {proc.stderr.read()!r}"
        files = list(points.glob("p*.npz"))
        assert len(files) >= stored  # nothing stored was lost
        stored = len(files)
        assert workers and _exited(workers, within=10.0), "the pool's workers outlived their killed parent"
    assert 8 <= stored < 12, "the kills came too late to test resuming"
    damaged = sorted(points.glob("p*.npz"))[0]  # as a full disk can leave one: sampled again, with a one-line warning
    damaged.write_bytes(damaged.read_bytes()[:100])
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"resumed: {stored - 1} of 12 points" in r.stdout  # the stored points were read, not sampled again
    assert r.stderr.startswith("warning: checkpoint ") and f"{damaged.name}' is damaged" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (out / CHECKPOINT).exists()  # scan.nc holds them now
    resumed = pm.load(out / "scan.nc")[64]
    whole = pm.scan(Ising2D(L=64), {"T": np.linspace(2.0, 2.6, 12)}, 1500, seed=4, executor=pm.SerialExecutor(),
                    progress=False)
    xr.testing.assert_identical(resumed.drop_attrs(), whole.drop_attrs())


def _children(pid):
    """Process ids of ``pid``'s children (Linux /proc)."""
    from pathlib import Path

    tasks = Path(f"/proc/{pid}/task")
    return {int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()} if tasks.exists() else set()


def _exited(pids, within):
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = set()
        for pid in pids:
            try:
                state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            if state != "Z":  # a zombie has exited; only its (dead) parent would reap it
                alive.add(pid)
        if not alive:
            return True
        time.sleep(0.05)
    return False


def test_a_second_scan_into_the_same_out_exits_2_while_the_first_runs(tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    with held_by_another_process(out, "scan.lock") as pid:
        r = run("scan", "ising2d", "--axis", "T=2:2.5:3", "--size", "4", "--out", str(out), "--no-progress")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and f"is being written by process {pid}" in lines[0], r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["scan.lock"]  # the holder's: nothing of the refused scan
    r = run("scan", "ising2d", "--axis", "T=2:2.5:3", "--size", "4", "--out", str(out), "--no-progress")
    assert r.returncode == 0 and sorted(p.name for p in out.iterdir()) == ["observables.png", "scan.nc", "summary.json"]


def test_a_checkpoint_of_another_scan_exits_2(tmp_path):
    out = tmp_path / "scan"
    ScanCheckpoint(out / CHECKPOINT, {"seed": 99})  # as a killed scan with other settings leaves it
    r = run("scan", "ising2d", "--axis", "T=2:3:3", "--size", "4", "--samples", "5", "--out", str(out), "--no-progress")
    assert r.returncode == 2 and "holds another scan" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ctrl_c_exits_130_and_says_how_to_continue(monkeypatch, capsys):
    # outside standalone mode Typer turns KeyboardInterrupt into a returned 130; that must not become exit 0
    from phasemapper import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_scan", interrupted)
    with pytest.raises(SystemExit) as exc:
        cli.main(["scan", "ising2d", "--axis", "T=2:3:3"])
    assert exc.value.code == 130 and "run the same scan command again" in capsys.readouterr().err


def test_workers_that_keep_dying_end_in_one_line_not_a_traceback(monkeypatch, capsys):
    from concurrent.futures.process import BrokenProcessPool

    from phasemapper import cli

    def dying(*args, **kwargs):
        exc = BrokenProcessPool("A process in the process pool was terminated abruptly")
        exc.add_note("a worker process died while sampling ising2d L=4; the pool had been restarted 3 times")
        raise exc

    monkeypatch.setattr(cli, "run_scan", dying)
    with pytest.raises(SystemExit) as exc:
        cli.main(["scan", "ising2d", "--axis", "T=2:3:3"])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and len(err.strip().splitlines()) == 1
    assert "restarted 3 times" in err and "run the same command again" in err


class _FailsAbove(Ising2D):
    """Ising2D (the same name and parameters) whose sampling raises above ``T = limit``."""

    limit = 99.0

    def sample(self, point, n_samples, seed):
        if float(point[0]) > self.limit:
            raise RuntimeError("the node went away")
        return super().sample(point, n_samples, seed)


@pytest.mark.parametrize("limit, status", [(2.5, 0), (2.1, 3)])
def test_a_scan_with_failed_points_lists_them_skips_the_detectors_and_the_same_command_retries_them(
        tmp_path, capsys, monkeypatch, limit, status):
    from phasemapper import cli
    from phasemapper.systems import _base

    monkeypatch.setattr(cli.console, "width", 400)
    monkeypatch.setitem(_base.SYSTEMS._entries, "ising2d", type("Fails", (_FailsAbove,), {"limit": limit}))
    out = tmp_path / "scan"
    argv = ["scan", "ising2d", "--axis", "T=1.8:2.8:6", "--size", "4", "--samples", "10", "--out", str(out),
            "--no-progress", "--workers", "1"]
    if status:
        with pytest.raises(SystemExit) as exited:
            cli.main(argv)
        assert exited.value.code == 3
    else:
        cli.main(argv)
    stdout, err = capsys.readouterr()
    n_failed = int(np.sum(np.linspace(1.8, 2.8, 6) > limit))
    assert f"{n_failed} of 6 evaluations failed" in stdout and "RuntimeError: the node went away" in stdout
    assert "detectors skipped" in stdout and f"warning: {n_failed} of 6 evaluations failed" in err
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["failures"]) == n_failed and summary["critical_points"] == []
    assert (out / CHECKPOINT).is_dir()  # the finished points stay, for the same command to go on from
    monkeypatch.setitem(_base.SYSTEMS._entries, "ising2d", Ising2D)  # the node is back
    cli.main(argv)
    stdout, err = capsys.readouterr()
    assert f"resumed: {6 - n_failed} of 6 points" in stdout and "evaluations failed" not in stdout + err
    assert not (out / CHECKPOINT).exists() and len(pm.load(out / "scan.nc")[4]["T"]) == 6


def test_a_scan_whose_points_all_fail_ends_with_each_error_counted_and_exit_3(tmp_path, capsys, monkeypatch):
    from phasemapper import cli
    from phasemapper.systems import _base

    monkeypatch.setitem(_base.SYSTEMS._entries, "ising2d", type("Fails", (_FailsAbove,), {"limit": 0.0}))
    with pytest.raises(SystemExit) as exited:
        cli.main(["scan", "ising2d", "--axis", "T=1.8:2.8:6", "--size", "4", "--samples", "10", "--out",
                  str(tmp_path / "scan"), "--no-progress", "--workers", "1"])
    err = capsys.readouterr().err.splitlines()
    assert exited.value.code == 3
    assert err[0].startswith("error: scan of ising2d L=4: no evaluation succeeded; 6 of 6 evaluations failed:")
    assert err[1] == "  6 x RuntimeError: the node went away (first at L=4, T=1.8, h=0)"


def test_version_help_and_systems_read_well_in_a_narrow_terminal(capsys, monkeypatch):
    from phasemapper import cli
    from phasemapper.systems import registered_systems

    def output(*argv):
        try:
            cli.main(list(argv))
        except SystemExit as exc:
            assert exc.code in (0, None), exc
        return capsys.readouterr().out

    assert output("--version").strip() == f"phasemapper {pm.__version__}"
    for command in ("scan", "map", "resume"):
        text = output(command, "--help")
        assert "`" not in text and "<list[str]>" not in text and "<bool>" not in text, text
    assert "--axis NAME=LOW:HIGH:N" in output("scan", "--help")
    monkeypatch.setattr(cli.console, "width", 60)
    listing = output("systems")
    names = sorted(registered_systems())
    assert names and all(f"│ {name} " in listing for name in names)  # each name whole, none cut with an ellipsis


def test_a_missing_extra_is_one_line_naming_it_before_any_sampling(tmp_path, capsys, monkeypatch):
    import importlib.util

    from phasemapper import cli

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    out = tmp_path / "scan"
    with pytest.raises(SystemExit) as exited:
        cli.main(["scan", "ising2d", "--axis", "T=2:3:3", "--detect", "pca,confusion", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exited.value.code == 2
    assert err == ["error: --detect confusion needs the 'torch' package: pip install 'phasemapper[deep]'"]
    assert not out.exists()  # nothing was sampled
    from phasemapper.detectors import Confusion

    with pytest.raises(ImportError, match=r"Confusion needs the 'torch' package: pip install 'phasemapper\[deep\]'"):
        Confusion().fit(pm.scan(Ising2D(L=4), {"T": [2.0, 2.5, 3.0]}, 4, seed=0, executor=pm.SerialExecutor(),
                                progress=False))


def test_detector_fits_show_progress_after_the_sampling_bar(tmp_path, capsys, monkeypatch):
    from phasemapper import cli

    monkeypatch.setattr(cli.console, "width", 200)
    cli.main(["scan", "ising2d", "--axis", "T=2:2.6:5", "--size", "4", "--samples", "40", "--out", str(tmp_path / "s"),
              "--detect", "observables,pca,confusion:max_epochs=2:n_bootstrap=4"])
    out = capsys.readouterr().out
    for bar in ("Observables: fit", "PCA: fit", "Confusion: fit"):
        assert bar in out, bar
    cli.main(["scan", "ising2d", "--axis", "T=2:2.6:5", "--size", "4", "--samples", "40", "--out", str(tmp_path / "q"),
              "--detect", "pca", "--no-progress"])
    assert "PCA: fit" not in capsys.readouterr().out
