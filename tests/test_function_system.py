"""FunctionSystem: labels, probabilities, samples, noise through rng, and errors naming the point."""

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import phasemapper as pm
from phasemapper import Axis, Space
from phasemapper.systems import FunctionSystem

SPACE = Space([Axis("x", -1, 1), Axis("y", -1, 1)])


def test_readme_function_system_example_runs_as_written():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"<!-- function-system-example -->\s*```python\n(.*?)```", readme, re.S)
    assert block, "README lost its FunctionSystem example"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)  # noqa: S102 - the README's own code
    ds = namespace["ds"]
    # the example's disk: label 0 inside, 1 outside, with 5% label noise
    inside = (ds.x**2 + ds.y**2 < 0.5).values
    label = ds.label.mean("sample").values
    assert np.all(label[inside] < 0.3) and np.all(label[~inside] > 0.7)


def test_labels_probabilities_and_arrays():
    labels = FunctionSystem(lambda p: "a" if p["x"] < 0 else "b", SPACE, phases=["a", "b"])
    s = labels.sample([0.5, 0.0], 3, seed=0)
    assert s.observables["label"].tolist() == [1.0, 1.0, 1.0]
    assert labels.reference_phase([[-0.5, 0.0], [0.5, 0.0]]).tolist() == ["a", "b"]

    proba = FunctionSystem(lambda p: np.array([0.2, 0.8]), SPACE, phases=["a", "b"])
    s = proba.sample([0.0, 0.0], 2, seed=0)
    assert s.observables["proba_b"].tolist() == [0.8, 0.8] and s.observables["label"][0] == 1

    arrays = FunctionSystem(lambda p, rng: rng.normal(p["x"], 1.0, size=(4, 4)), SPACE)
    ds = pm.scan(arrays, {"x": [0.0, 0.5], "y": [0.0, 0.0]}, 200, seed=1, executor=pm.SerialExecutor(), progress=False)
    assert ds.configuration.shape == (2, 200, 4, 4)
    # the mean of N(0.5, 1) samples over 200 x 16 values
    assert abs(float(ds["mean"].isel(point=1).mean()) - 0.5) < 4 / np.sqrt(200 * 16)


def test_noise_is_reproducible_per_seed():
    noisy = FunctionSystem(lambda p, rng: int(rng.random() < 0.5), SPACE, phases=["a", "b"])
    a = noisy.sample([0, 0], 50, seed=3).observables["label"]
    b = noisy.sample([0, 0], 50, seed=3).observables["label"]
    np.testing.assert_array_equal(a, b)
    assert 0 < a.mean() < 1


def test_errors_name_the_point():
    def broken(p):
        if p["x"] > 0:
            raise RuntimeError("solver diverged")
        return "a"

    system = FunctionSystem(broken, SPACE, phases=["a"])
    with pytest.raises(ValueError, match=r"RuntimeError: solver diverged") as err:
        system.sample([0.5, 0.0], 1, seed=0)
    assert err.value.__notes__ == ["at point {'x': 0.5, 'y': 0.0}"]
    with pytest.raises(ValueError, match=r"NaN\nat point \{'x': 0.1"):
        FunctionSystem(lambda p: float("nan"), SPACE).sample([0.1, 0.0], 1, seed=0)
    with pytest.raises(ValueError, match="unknown phase 'c'"):
        FunctionSystem(lambda p: "c", SPACE, phases=["a", "b"]).sample([0, 0], 1, seed=0)
    with pytest.raises(ValueError, match="no phases were given"):
        FunctionSystem(lambda p: "a", SPACE).sample([0, 0], 1, seed=0)
    with pytest.raises(ValueError, match="sum to 1"):
        FunctionSystem(lambda p: np.array([0.5, 0.7]), SPACE, phases=["a", "b"]).sample([0, 0], 1, seed=0)
    with pytest.raises(TypeError, match="callable"):
        FunctionSystem(42, SPACE)
    with pytest.raises(ValueError, match="distinct"):
        FunctionSystem(lambda p: 0, SPACE, phases=["a", "a"])


def test_a_function_is_only_called_inside_its_space_and_every_way_it_fails_is_an_error():
    calls = []

    def fn(p):
        calls.append(p["x"])
        return "a"

    system = FunctionSystem(fn, SPACE, phases=["a", "b"])
    for outside in ([2.0, 0.0], [-100.0, 0.0]):
        with pytest.raises(ValueError, match=r"axis 'x': value .* is outside the bounds \[-1, 1\]"):
            pm.scan(system, np.array([outside]), 1, seed=0, executor=pm.SerialExecutor(), progress=False)
    assert calls == []  # never called outside [-1, 1]
    with pytest.raises(ValueError, match="no points given"):
        pm.scan(system, np.empty((0, 2)), 1, seed=0, executor=pm.SerialExecutor(), progress=False)
    with pytest.raises(ValueError, match=r"fn returned inf"):
        FunctionSystem(lambda p: np.array([1.0, np.inf]), SPACE).sample([0, 0], 1, seed=0)
    with pytest.raises(ValueError, match=r"fn raised SystemExit: 3"):
        FunctionSystem(lambda p: sys.exit(3), SPACE, phases=["a", "b"]).sample([0, 0], 1, seed=0)


def test_sys_exit_in_a_users_function_is_a_failed_evaluation_not_the_end_of_the_campaign():
    def exits_left(p):
        if p["x"] < 0:
            sys.exit(3)
        return "a" if p["y"] < 0 else "b"

    system = FunctionSystem(exits_left, SPACE, phases=["a", "b"])
    for executor in (pm.SerialExecutor(), None):  # in this process, and on the pool's workers
        with pytest.warns(pm.PhaseMapperWarning, match="fn raised SystemExit: 3"):
            res = pm.Campaign(system, planner="sobol", executor=executor, max_attempts=1).run(budget=16, progress=False)
        assert res.n_evaluations == 16 and 0 < res.n_failed < 16


def test_a_phase_map_of_one_phase_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="a phase map needs at least two distinct phase names"):
        pm.Campaign(FunctionSystem(lambda p: "a", SPACE, phases=["a"]), executor=pm.SerialExecutor())
