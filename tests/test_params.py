"""One parameter mechanism: every registered part rebuilds from its params(), registries map both ways, and the
checks name the field."""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_system_contract import SMALL

from phasemapper._checks import (
    check_bool,
    check_choice,
    check_finite,
    check_number,
    check_positive_int,
    check_seed,
)
from phasemapper._params import Parameterized, plain
from phasemapper._registry import Registry
from phasemapper.detectors import DETECTORS
from phasemapper.labelers import LABELERS
from phasemapper.maps import MAPS
from phasemapper.planners import MAP_PLANNERS, PLANNERS
from phasemapper.systems import SYSTEMS, make_system

from square import SQUARE


def _round_trip(part, rebuild):
    """``part`` rebuilt from its params() has the same params and repr, and the params are plain JSON data."""
    params = part.params()
    assert plain(params) == params
    again = rebuild(**params)
    assert type(again) is type(part) and again.params() == params and repr(again) == repr(part)


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_every_system_rebuilds_from_its_params(name):
    system = make_system(name, **SMALL[name])
    if name == "experiment":  # its truth is recorded as the truth's parameters: rebuilt through its manifest form
        from phasemapper.systems import Calphad, Experiment

        params = system.params()
        again = Experiment(Calphad(**params.pop("truth")), **params)
        assert again.params() == system.params()
        return
    _round_trip(system, lambda **p: make_system(name, **p))


@pytest.mark.parametrize("name", list(PLANNERS))
def test_every_planner_rebuilds_from_its_params(name):
    extra = {"phases": ["a", "b"]} if name in MAP_PLANNERS else {}
    planner = PLANNERS.build(name, SQUARE, **extra, seed=7)
    _round_trip(planner, lambda **p: PLANNERS.build(name, SQUARE, **p))


@pytest.mark.parametrize("name", list(MAPS))
def test_every_map_rebuilds_from_its_params(name):
    model = MAPS.build(name, SQUARE, ["a", "b"])
    _round_trip(model, lambda **p: MAPS.build(name, SQUARE, ["a", "b"], **p))


LABELER_ARGS = {"direct": {"phases": ["a", "b"]}, "xrd": {"db_phases": ["A", "B"], "phases": ["A", "A+B"]}}


@pytest.mark.parametrize("name", list(LABELERS))
def test_every_labeler_rebuilds_from_its_params(name):
    labeler = LABELERS.build(name, **LABELER_ARGS.get(name, {}))
    _round_trip(labeler, lambda **p: LABELERS.build(name, **p))


@pytest.mark.parametrize("name", list(DETECTORS))
def test_every_detector_reads_its_params_from_the_signature_as_scikit_learn_does(name):
    detector = DETECTORS.build(name, seed=5)
    assert detector.params() == plain(detector.get_params(deep=False))
    assert detector.params()["seed"] == 5 and "seed=5" in repr(detector)


def test_a_registry_maps_names_and_classes_both_ways():
    registries = [SYSTEMS, PLANNERS, MAPS, LABELERS, DETECTORS]
    assert all(len(r) for r in registries), "a registry is empty"
    for registry in registries:
        for key in registry:
            cls = registry[key]
            assert registry.name_of(cls) == key and key in registry
            if isinstance(cls, type):
                assert registry[cls.__name__] is cls and cls.__name__ in registry
    assert PLANNERS.name_of(object) is None and "simplex" not in PLANNERS
    with pytest.raises(ValueError, match="unknown planner 'simplex'; known: grid, sobol"):
        PLANNERS["simplex"]
    fresh = Registry("widget")
    with pytest.raises(TypeError, match="widget name"):
        fresh.register("", object)


class _Base(Parameterized):
    context_params = ("space",)

    def __init__(self, space=None, *, width: float = 1.0, seed: int = 0) -> None:
        self.space, self.width, self.seed = space, width, seed


class _Child(_Base):
    param_attributes = {"phases": "labels"}

    def __init__(self, space=None, *, phases=("a", "b"), **rest) -> None:
        self.labels = tuple(phases)
        super().__init__(space, **rest)


def test_parameters_come_from_the_constructors_along_the_class_hierarchy():
    child = _Child("S", phases=("b", "a"), width=2.0)
    # the child's own first, then what its **rest passes on; space is the owner's; stored as labels
    assert child.params() == {"phases": ["b", "a"], "width": 2.0, "seed": 0}
    assert repr(child) == "_Child(phases=['b', 'a'], width=2.0)"  # only what differs from the defaults
    assert list(_Child.param_defaults()) == ["phases", "width", "seed"]
    assert repr(_Base(width=np.float64(3.0), seed=np.int64(2))) == "_Base(width=3.0, seed=2)"


@pytest.mark.parametrize("check, value, error, words", [
    (lambda v: check_positive_int("n_samples", v), 0, ValueError, "n_samples must be >= 1, got 0"),
    (lambda v: check_positive_int("n_samples", v), 2.0, TypeError, "n_samples must be an integer"),
    (lambda v: check_positive_int("n_samples", v), True, TypeError, "n_samples must be an integer"),
    (lambda v: check_positive_int("n_samples", v), 2**40, ValueError, "n_samples must be <= 2147483647"),
    (lambda v: check_seed("seed", v), -1, ValueError, "seed must be >= 0"),
    (lambda v: check_finite("J", v), math.inf, ValueError, "J must be finite"),
    (lambda v: check_finite("J", v), "1", TypeError, "J must be a number"),
    (lambda v: check_number("flip", v, low=0.0, high=1.0, high_open=True), 1.0, ValueError, r"flip must be in \[0.0, 1.0\)"),
    (lambda v: check_number("radius", v, low=0, low_open=True), 0, ValueError, r"radius must be in \(0, inf\]"),
    (lambda v: check_bool("xrd", v), 1, TypeError, "xrd must be True or False"),
    (lambda v: check_choice("ordered", v, ("low", "high")), "up", ValueError, "ordered must be one of"),
])
def test_a_failed_check_names_the_field(check, value, error, words):
    with pytest.raises(error, match=words):
        check(value)


def test_plain_data_is_json_ready():
    assert plain({"b", "a"}) == ["a", "b"] and plain((np.int64(1), np.float32(0.5))) == [1, 0.5]
    assert plain({"at": {"h": np.float64(0.0)}}) == {"at": {"h": 0.0}} and plain(_Base()) == {"width": 1.0, "seed": 0}


def test_a_passed_check_returns_the_plain_value():
    assert type(check_positive_int("n", np.int64(3))) is int and check_seed("seed", 0) == 0
    assert check_number("x", np.float32(0.5), low=0, high=1) == 0.5 and check_bool("b", np.bool_(True)) is True
    assert check_choice("c", "low", ("low", "high")) == "low"
