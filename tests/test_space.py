import math

import numpy as np
import pytest

from phasemapper import Axis, Space


def test_unit_transforms_roundtrip_linear_and_log():
    space = Space([Axis("T", 1.0, 4.0), Axis("rate", 1e-3, 1e1, scale="log")])
    pts = np.array([[1.0, 1e-3], [2.5, 0.1], [4.0, 10.0]])
    u = space.to_unit(pts)
    np.testing.assert_allclose(u, [[0, 0], [0.5, 0.5], [1, 1]])
    np.testing.assert_allclose(space.from_unit(u), pts)


def test_grid_includes_bounds_and_last_axis_fastest():
    space = Space([Axis("a", 0, 1), Axis("b", 10, 20)])
    g = space.grid({"a": 2, "b": 3})
    assert g.shape == (6, 2)
    np.testing.assert_allclose(g[:3, 0], 0.0)
    np.testing.assert_allclose(g[:3, 1], [10, 15, 20])


def test_sobol_is_reproducible_in_bounds_and_balanced():
    space = Space([Axis("x", -2, 2), Axis("y", 0, 1)])
    a, b = space.sobol(64, seed=3), space.sobol(64, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, space.sobol(64, seed=4))
    space.validate(a)
    # a scrambled Sobol net of 64 points puts exactly 32 in each half of every axis
    assert (a[:, 0] < 0).sum() == 32 and (a[:, 1] < 0.5).sum() == 32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(name="T", low=2.0, high=1.0), "'T'.*inverted"),
        (dict(name="T", low=1.0, high=math.inf), "'T'.*finite"),
        (dict(name="T", low=math.nan, high=1.0), "'T'.*finite"),
        (dict(name="r", low=0.0, high=1.0, scale="log"), "'r'.*log"),
        (dict(name="T", low=0.0, high=1.0, scale="cubic"), "'T'.*scale"),
    ],
)
def test_bad_axis(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Axis(**kwargs)


def test_duplicate_names_and_points_outside():
    with pytest.raises(ValueError, match="'T'.*more than once"):
        Space([Axis("T", 0, 1), Axis("T", 1, 2)])
    space = Space([Axis("T", 1, 2), Axis("h", -1, 1)])
    with pytest.raises(ValueError, match="'h'.*outside"):
        space.validate([[1.5, 3.0]])
    with pytest.raises(ValueError, match="'T'.*non-finite"):
        space.validate({"T": [np.nan], "h": [0.0]})
    with pytest.raises(ValueError, match="missing axis 'h'"):
        space.validate({"T": [1.5]})
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        space.validate(np.zeros((3, 3)))
