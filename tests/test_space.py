import math

import numpy as np
import pytest

from phasemapper import Axis, Simplex, Space


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


# ---------------------------------------------------------------- the contract every space keeps
SPACES = {
    "box": lambda: Space([Axis("T", 1.0, 4.0), Axis("rate", 1e-3, 1e1, scale="log")]),
    "ternary": lambda: Simplex(["Fe", "Ga", "Pd"]),
    "quaternary+T": lambda: Simplex(["a", "b", "c", "d"], extra=[Axis("T", 300.0, 900.0)]),
}


@pytest.fixture(params=sorted(SPACES))
def any_space(request):
    return SPACES[request.param]()


def test_space_contract_points_lie_in_the_space_and_round_trip(any_space):
    space = any_space
    for pts in (space.sobol(64, seed=1), space.random(64, seed=1), space.grid(4)):
        assert len(pts) > 0
        np.testing.assert_array_equal(space.validate(pts), pts)
        u = space.to_unit(pts)
        assert u.shape == (len(pts), space.unit_ndim)
        assert u.min() >= -1e-12 and u.max() <= 1 + 1e-12
        np.testing.assert_allclose(space.from_unit(u), pts, atol=1e-12)
    assert len(space.grid(4)) == math.prod(space.grid_shape(4))
    dims, coords = space.grid_coords(4)
    assert tuple(len(np.atleast_1d(coords[d])) for d in dims) == space.grid_shape(4)
    assert Space.from_dict(space.to_dict()) == space
    d = space.distances(space.grid(3), space.grid(3))
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0.0)


def test_space_contract_cube_samples_are_uniform(any_space):
    # the share of 4096 Sobol points in the part of the space where the first unit coordinate is
    # below its median over a fine grid must be 1/2 within 3 binomial standard errors
    space = any_space
    pts = space.sobol(4096, seed=2)
    ref = space.grid(40 if space.unit_ndim == space.ndim else 61)
    first = space.to_unit(ref)[:, 0]
    share = float(np.mean(space.to_unit(pts)[:, 0] < np.median(first)))
    assert abs(share - 0.5) < 3 * math.sqrt(0.25 / 4096) + 0.01


def test_simplex_geometry_matches_closed_forms():
    space = Simplex(["Fe", "Ga", "Pd"])
    corners = np.eye(3)
    # a regular triangle with unit edges
    np.testing.assert_allclose(space.distances(corners, corners), 1.0 - np.eye(3), atol=1e-12)
    a, b = np.array([[0.2, 0.3, 0.5]]), np.array([[0.6, 0.1, 0.3]])
    np.testing.assert_allclose(space.distances(a, b), np.linalg.norm(a - b) / math.sqrt(2))
    # n points along an edge: C(n + 1, 2) compositions, all on the 1/(n-1) lattice
    g = space.grid(11)
    assert len(g) == 66 and np.allclose(g * 10, np.rint(g * 10))
    # uniform compositions: P(Fe > 1/2) = (1/2)^2
    pts = space.sobol(2**14, seed=0)
    assert abs(np.mean(pts[:, 0] > 0.5) - 0.25) < 3 * math.sqrt(0.25 * 0.75 / 2**14)
    np.testing.assert_allclose(pts.mean(axis=0), 1 / 3, atol=0.01)


def test_simplex_refuses_bad_compositions_and_renormalises_rounding():
    space = Simplex(["Fe", "Ga", "Pd"])
    with pytest.raises(ValueError, match="composition.*row 1.*sum to 0.9"):
        space.validate([[0.2, 0.3, 0.5], [0.3, 0.3, 0.3]])
    with pytest.raises(ValueError, match="'Pd'.*outside"):
        space.validate([[0.5, 0.6, -0.1]])
    np.testing.assert_allclose(space.validate([[0.5, 0.2, 0.3001]]).sum(), 1.0)
    with pytest.raises(ValueError, match="elements.*at least two"):
        Simplex(["Fe"])
    with pytest.raises(TypeError, match="elements"):
        Simplex("FeGa")
    with pytest.raises(ValueError, match="outside the simplex"):
        space.from_unit([[0.0, 0.9]])
    assert space != Space([Axis(e, 0.0, 1.0) for e in ("Fe", "Ga", "Pd")])


def test_planners_and_maps_work_on_a_simplex():
    from phasemapper.maps import GPClassifierMap
    from phasemapper.metrics import misclassified_area
    from phasemapper.planners import Boundary, Random, Refine, Sobol

    space = Simplex(["Fe", "Ga", "Pd"])
    for planner in (Sobol(space, seed=0), Random(space, seed=0)):
        space.validate(planner.ask(16))
    with pytest.raises(TypeError, match="Refine.*not a box"):
        Refine(space)
    truth = lambda p: np.where(p[:, 0] > 0.5, "fe_rich", "other")  # noqa: E731
    planner = Boundary(space, ["fe_rich", "other"], seed=0)
    for _ in range(4):
        pts = planner.ask(12)
        planner.tell(pts, (truth(pts) == "other").astype(int))
    ds = planner.fitted_map().phase_map(grid_size=41)
    assert ds["label"].dims == ("composition",) and set(ds["Fe"].dims) == {"composition"}
    # the map's area error against the truth, and the closed form of two thresholds: 0.5^2 - 0.4^2
    assert misclassified_area(ds, truth) < 0.05
    split = lambda p: np.where(p[:, 0] > 0.6, "fe_rich", "other")  # noqa: E731
    assert abs(misclassified_area(split, truth, space=space, grid_size=201) - 0.09) < 0.005
    # a region prior stated in compositions: the Fe corner
    m = GPClassifierMap(space, ["fe_rich", "other"])
    m.add_prior(region=[[1, 0, 0], [0.6, 0.4, 0], [0.6, 0, 0.4]], phase="fe_rich", certainty=1.0)
    p = m.predict_proba([[0.8, 0.1, 0.1], [0.2, 0.4, 0.4]])
    assert p[0, 0] > 0.9 and abs(p[1, 0] - 0.5) < 1e-9
    with pytest.raises(ValueError, match="composition"):
        m.add_prior(region=[[1, 0, 0], [0.6, 0.6, 0], [0.6, 0, 0.4]], phase="fe_rich")
