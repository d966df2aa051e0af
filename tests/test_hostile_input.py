"""Malformed, extreme and hostile values, at the command line and in the public constructors: each is refused
before any work starts, with one line (exit status 2) or a ValueError/TypeError naming the field, no traceback,
and no directory left behind that would stop the corrected command."""

from __future__ import annotations

import re

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.cli import main
from phasemapper.maps import GPClassifierMap, KNNMap
from phasemapper.planners import Boundary, Grid, Refine, Sobol
from phasemapper.systems import FunctionSystem, Ising2D, ThreePhase

from cli_checks import one_error_line
from square import SQUARE

CLI_CASES = [
    (["map", "tasep", "--timeout", "inf"], "--timeout must be a finite positive number"),
    (["map", "tasep", "--timeout", "nan"], "--timeout must be a finite positive number"),
    (["map", "three_phase", "--seed", "99999999999999999999999"], "--seed must be <= 9223372036854775807"),
    (["map", "three_phase", "--budget", "99999999999999999999999"], "--budget must be <= 2147483647"),
    (["map", "three_phase", "--batch-size", "-3"], "--batch-size must be >= 1"),
    (["map", "three_phase", "--entropy-goal", "inf"], "--entropy-goal must be a finite positive number"),
    (["map", "ising2d", "--size", "100000000"], "one evaluation needs at least"),
    (["map", "ising2d", "--size", "-5"], "--size -5: L must be >= 2"),
    (["map", "hopfield", "--axis", "T=-1:1"], "axis 'T': temperature must be >= 0"),
    (["map", "three_phase", "--axis", "x=1:0"], "LOW and HIGH must be finite with LOW < HIGH"),
    (["map", "three_phase", "--axis", "x=0:inf"], "LOW and HIGH must be finite"),
    (["map", "three_phase", "--axis", "z=0:1"], "system 'three_phase' has axes"),
    (["map", "tasep", "--planner", "../../etc"], "--planner '../../etc'"),
    (["scan", "ising2d", "--axis", "T=1:2:3", "--samples", "99999999999"], "--samples must be <= 2147483647"),
    (["scan", "ising2d", "--axis", "T=1:2:41", "--size", "32", "--samples", "2000000000"],
     "needs at least 8.4e+13 bytes"),
    (["scan", "ising2d", "--axis", "T=1:2:100000", "--axis", "h=-1:1:100000"], "the grid has 10000000000 points"),
    (["scan", "ising2d", "--axis", "T=1:2:99999999999"], "--axis 'T=1:2:99999999999'"),
    (["scan", "ising2d", "--axis", "T=nan:2:3"], "--axis 'T=nan:2:3'"),
    (["scan", "ising2d", "--axis", "T=1,inf"], "values must be finite"),
    (["scan", "ising2d", "--axis", "T=1:2:3", "--workers", "100000000000"], "--workers must be <= 2147483647"),
    (["scan", "ising2d", "--axis", "T=1:2:3", "--seed", "-1"], "--seed must be >= 0"),
    (["scan", "ising2d", "--axis", "T=1,1,1"], "--axis 'T=1,1,1': a value is given more than once"),
    (["scan", "ising2d", "--axis", "T=2:2.5:2", "--detect", "pca"], "give it at least 3 values"),
]


@pytest.mark.parametrize("argv, words", CLI_CASES, ids=[" ".join(c[0][:4]) for c in CLI_CASES])
def test_a_hostile_command_line_is_one_line_exit_2_and_leaves_nothing(tmp_path, capsys, argv, words):
    out = tmp_path / "out"
    line = one_error_line(capsys, [*argv, "--out", str(out), "--no-progress"])
    assert line.startswith("error: ") and "Traceback" not in line, line
    assert words in line, line
    assert not out.exists()  # nothing that would stop the corrected command


def test_a_scan_of_two_values_is_sampled_and_says_why_no_detector_read_it(tmp_path, capsys):
    main(["scan", "ising2d", "--axis", "T=2:2.5:2", "--size", "4", "--samples", "20", "--workers", "1",
          "--out", str(tmp_path / "out"), "--no-progress"])
    assert "detectors skipped: axis 'T' has 2 values" in capsys.readouterr().out
    assert pm.load(tmp_path / "out" / "scan.nc")[4].sizes["point"] == 2  # one scan per size, keyed by L


def test_a_prior_file_of_nested_brackets_is_one_line(tmp_path, capsys):
    prior = tmp_path / "prior.json"
    prior.write_text("[" * 100_000)
    line = one_error_line(capsys, ["map", "three_phase", "--prior", str(prior), "--out", str(tmp_path / "out"),
                                   "--no-progress"])
    assert "nested too deeply" in line


def _always_a(point):
    return "a" if point["x"] < 2 else "b"


PYTHON_CASES = [
    (lambda: pm.Campaign(ThreePhase(), seed=2**70), ValueError, "seed must be <= "),
    (lambda: pm.Campaign(ThreePhase(), seed=-1), ValueError, "seed must be >= 0"),
    (lambda: pm.Campaign(ThreePhase(), seed=1.5), TypeError, "seed must be an integer"),
    (lambda: pm.Campaign(ThreePhase(), batch_size=2**40), ValueError, "batch_size must be <= "),
    (lambda: pm.Campaign(ThreePhase(), timeout=float("inf")), ValueError, "timeout must be a finite positive"),
    (lambda: pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), timeout=1.0), ValueError,
     "timeout: a SerialExecutor runs each call in this process"),
    (lambda: pm.Campaign(Ising2D(L=100_000_000)), ValueError, "one evaluation needs at least"),
    (lambda: pm.Campaign(ThreePhase(), pm.Space([pm.Axis("x", 0, 1)])), ValueError, "missing the required axis 'y'"),
    (lambda: pm.Campaign(ThreePhase()).run(budget=2**40), ValueError, "budget must be <= "),
    (lambda: pm.scan(ThreePhase(), {"x": [0.5], "y": [0.5]}, 1, seed=2**70), ValueError, "seed must be <= "),
    (lambda: pm.scan(ThreePhase(), {"x": [0.5], "y": [0.5]}, 10**12), ValueError, "n_samples must be <= "),
    (lambda: pm.scan(Ising2D(L=32), {"T": np.linspace(1, 3, 41)}, 2 * 10**9), ValueError, "needs at least"),
    (lambda: pm.scan(ThreePhase(), {"x": [], "y": []}, 1), ValueError, "no points given"),
    (lambda: pm.scan(ThreePhase(), {"x": [0.5], "y": [0.5]}, 1, executor=pm.SerialExecutor(), timeout=1.0),
     ValueError, "timeout: a SerialExecutor"),
    (lambda: pm.scan(FunctionSystem(_always_a, SQUARE, ["a", "b"]), {"x": [2.0], "y": [0.0]}, 1), ValueError,
     "value 2 is outside the bounds"),
    (lambda: GPClassifierMap(SQUARE, ["a", "b"], n_draws=10**9).check(), ValueError, "n_draws must be <= 100000"),
    (lambda: GPClassifierMap(SQUARE, ["a", "b"], strength=float("nan")).check(), ValueError, "strength must be"),
    (lambda: GPClassifierMap(SQUARE, ["a"]).check(), ValueError, "a phase map needs at least two"),
    (lambda: KNNMap(SQUARE, ["a", "b"], k=10**9).check(), ValueError, "k must be <= 100000"),
    (lambda: pm.Axis("x", 0.0, float("inf")), ValueError, "axis 'x'"),
    (lambda: Grid(SQUARE, points_per_axis=100_000), ValueError, "points_per_axis: the grid's size must be <= "),
    (lambda: Grid(SQUARE).ask(2**40), ValueError, "n must be <= "),
    (lambda: Sobol(SQUARE, seed=2**70), ValueError, "seed must be <= "),
    (lambda: Refine(SQUARE, max_depth=40), ValueError, "max_depth must be <= 30"),
    (lambda: Refine(SQUARE, initial=2**20, max_depth=12), ValueError, "initial * 2**max_depth must be <= "),
    (lambda: Boundary(SQUARE, ["a", "b"], n_candidates=10**9), ValueError, "n_candidates must be <= "),
    (lambda: Boundary(SQUARE, ["a", "b"], n_initial=2.5), TypeError, "n_initial must be an integer"),
]


@pytest.mark.parametrize("make, error, words", PYTHON_CASES, ids=[str(i) for i in range(len(PYTHON_CASES))])
def test_a_hostile_constructor_argument_names_the_field(make, error, words):
    with pytest.raises(error, match=re.escape(words)):
        make()


def test_a_partial_axis_list_keeps_the_other_axes_default_range(tmp_path, capsys):
    run = tmp_path / "run"
    main(["map", "three_phase", "--axis", "x=0:0.5", "--budget", "8", "--out", str(run), "--no-progress",
          "--workers", "1"])
    result = pm.Campaign.resume(run).result()
    assert result.model.space.names == ("x", "y") and result.model.space["x"].high == 0.5
    assert result.n_failed == 0


@pytest.fixture
def small_run(tmp_path):
    path = tmp_path / "run"
    pm.Campaign(ThreePhase(), executor=pm.SerialExecutor(), store=path, seed=0).run(budget=8, progress=False)
    return path


def _edit_manifest(run, edit):
    import json

    manifest = json.loads((run / "manifest.json").read_text())
    edit(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("field, value, words", [
    ("n_draws", 1e9, "n_draws must be an integer"),
    ("n_draws", 10**9, "n_draws must be <= 100000"),
    ("strength", -1, "strength must be a finite positive number"),
])
def test_a_manifest_from_elsewhere_is_checked_as_it_is_read(small_run, tmp_path, capsys, field, value, words):
    _edit_manifest(small_run, lambda m: m["model"]["params"].update({field: value}))
    for argv in (["resume", str(small_run), "--no-progress"], ["report", str(small_run), "--out", str(tmp_path / "r.html")]):
        assert words in one_error_line(capsys, argv), argv


def test_a_manifest_naming_a_file_outside_its_run_is_refused(small_run, tmp_path, capsys):
    _edit_manifest(small_run, lambda m: m["system"].update({"name": "calphad", "params": {
        "database": "../../../../../../../etc/passwd", "components": ["PB", "SN"]}}))
    line = one_error_line(capsys, ["resume", str(small_run), "--no-progress"])
    assert "reads the file '../../../../../../../etc/passwd', outside the run directory" in line
