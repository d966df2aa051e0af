"""One contract suite, parametrized over every registered system."""

import numpy as np
import pytest

from phasemapper import Samples
from phasemapper.systems import System, make_system, registered_systems

# Small, fast parameters per system and invalid constructor parameters (name, value).
SMALL = {
    "ising2d": {"L": 6},
    "potts2d": {"L": 6, "q": 3},
    "blume_capel2d": {"L": 6},
    "xy2d": {"L": 6},
    "tasep": {"L": 12},
    "tfim_chain": {"N": 6},
    "hopfield": {"N": 40, "relax_sweeps": 5, "measure_sweeps": 5},
    "three_phase": {"noise": 0.5},  # noisy enough that two seeds give different labels
    "calphad": {"database": "pbsn"},
    "experiment": {"truth": "pbsn", "flip": 0.5},
    "sgd_teacher_student": {"n_train": 400, "steps": 200},
    "perceptron_sgd": {"d": 16, "n_train": 64, "n_test": 64},
    "gan_particles": {"steps": 40, "n_particles": 8, "hidden": 8, "batch_size": 16},
}
BAD_PARAMS = {
    "ising2d": [("L", 1), ("L", 2.5), ("J", -1.0), ("algorithm", "heatbath"), ("decorrelation", 0.0)],
    "potts2d": [("L", 1), ("q", 1), ("q", 200), ("J", 0.0), ("algorithm", "metropolis"), ("thermalization", -1)],
    "blume_capel2d": [("L", 0), ("J", float("nan")), ("algorithm", "wolff"), ("max_spacing", 0)],
    "xy2d": [("L", 1), ("J", -2.0), ("algorithm", "heatbath")],
    "tasep": [("L", 1), ("L", "10"), ("decorrelation", -1.0)],
    "tfim_chain": [("N", 1), ("N", 40), ("J", 0.0), ("boundary", "twisted")],
    "hopfield": [("N", 1), ("measure_sweeps", 0), ("initial_overlap", 2.0)],
    "three_phase": [("noise", 1.0), ("noise", -0.1), ("noise", "0.1")],
    "calphad": [("database", "nonexistent.tdb"), ("components", ["PB", "CU"]), ("temperature", [10.0, 500.0])],
    "experiment": [("detection_limit", 0.7), ("flip", -0.5), ("cost", -1.0)],
    "sgd_teacher_student": [("n_train", 0), ("batch_size", 401), ("n_checkpoints", 1), ("divergence_loss", 0.0)],
    "perceptron_sgd": [("d", 0), ("chi", -1.0), ("batch_size", 65), ("cold_factor", 1.0), ("max_steps", 0)],
    "gan_particles": [("n_particles", 1), ("steps", 5), ("lr_g", -0.1), ("radius", 0.0), ("n_records", 1)],
}
# systems whose papers give no closed-form diagram: reference_phase says so
WITHOUT_REFERENCE = {"perceptron_sgd", "gan_particles"}

NAMES = sorted(registered_systems())


def test_every_system_has_contract_fixtures():
    assert set(NAMES) == set(SMALL) == set(BAD_PARAMS)


@pytest.fixture(params=NAMES)
def system(request) -> System:
    return make_system(request.param, **SMALL[request.param])


def _a_point(system):
    return system.space.from_unit(np.full((1, system.space.ndim), 0.4))[0]


def test_reproducible_with_seed(system):
    p = _a_point(system)
    a, b = system.sample(p, 6, seed=3), system.sample(p, 6, seed=3)
    np.testing.assert_array_equal(a.configurations, b.configurations)
    for name in a.observables:
        np.testing.assert_array_equal(a.observables[name], b.observables[name])
    c = system.sample(p, 6, seed=4)
    if not system.deterministic:
        assert not np.array_equal(a.configurations, c.configurations)


def test_declared_shapes_and_dtypes(system):
    s = system.sample(_a_point(system), 5, seed=0)
    assert isinstance(s, Samples)
    assert s.configurations.shape == (5, *system.site_shape())
    assert len(system.site_dims) == len(system.site_shape())
    assert s.configurations.dtype == np.dtype(system.config_dtype)
    assert s.configurations.flags.c_contiguous  # sample first in memory, as the scan and the detectors read it
    for name, values in s.observables.items():
        absent = name.startswith(getattr(system, "nan_observables", ())) & np.isnan(values)  # e.g. an absent phase's composition
        assert values.shape == (5,) and np.all(np.isfinite(values) | absent)
    assert set(system.phases) and system.name in registered_systems()


def test_reference_phase_names_are_declared(system):
    if system.name in WITHOUT_REFERENCE:
        with pytest.raises(NotImplementedError, match="no reference phase diagram"):
            system.reference_phase(system.space.sobol(16, seed=0))
        first, second = system.space.names
        assert system.reference_transitions(first, at={second: system.space[second].low}) == []
        return
    labels = system.reference_phase(system.space.sobol(16, seed=0))
    assert set(labels) <= set(system.phases)


@pytest.mark.parametrize("name, bad", [(n, b) for n in NAMES for b in BAD_PARAMS[n]])
def test_bad_parameters_name_the_parameter(name, bad):
    field, value = bad
    with pytest.raises((ValueError, TypeError), match=field):
        make_system(name, **{**SMALL[name], field: value})


def test_bad_sample_arguments(system):
    with pytest.raises(ValueError, match="n_samples"):
        system.sample(_a_point(system), 0, seed=0)
    with pytest.raises(ValueError, match=system.space.names[0]):
        system.sample(np.full(system.space.ndim, np.nan), 2, seed=0)


def test_unknown_system():
    with pytest.raises(ValueError, match="unknown system 'nope'"):
        make_system("nope")


def test_a_scan_checkpoint_gives_back_what_was_sampled(system, tmp_path):
    # every system's samples survive the checkpoint a resumed scan reads: configurations (bit-packed or not),
    # observables and metadata, so a resumed scan equals an uninterrupted one
    import xarray as xr

    import phasemapper as pm

    points = system.space.from_unit(np.array([[0.3] * system.space.ndim, [0.7] * system.space.ndim]))
    kwargs = dict(seed=5, executor=pm.SerialExecutor(), progress=False)
    whole = pm.scan(system, points, 4, **kwargs)
    pm.scan(system, points, 4, checkpoint=tmp_path, **kwargs)
    resumed = pm.scan(system, points, 4, checkpoint=tmp_path, **kwargs)  # every point read back, none sampled
    assert resumed.attrs["resumed_points"] == 2
    xr.testing.assert_identical(resumed.drop_attrs(), whole.drop_attrs())
