"""SnakeNet: the signed distance against a brute-force one, the Blume-Capel line from three starting
contours, regions, contract and bad input (the L = 32 accuracy table: benchmarks/bench_detectors.py)."""

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.detectors import DETECTORS, SnakeNet, parse_detectors
from phasemapper.detectors._snake import signed_distance
from phasemapper.systems import BlumeCapel2D


def test_signed_distance_matches_a_dense_polyline():
    import torch

    rng = np.random.default_rng(0)
    nodes = np.array([[0.1, 0.0], [0.3, 0.4], [0.2, 0.7], [0.6, 1.0]])
    points = rng.random((200, 2))
    got = signed_distance(torch.as_tensor(points), torch.as_tensor(nodes)).numpy()
    # brute force: the distance to many points along the polyline and its end rays; the side from the
    # nearest dense point's segment direction
    dense, direction = [], []
    for k, (a, b) in enumerate(zip(nodes[:-1], nodes[1:])):
        lo, hi = (-3.0 if k == 0 else 0.0), (4.0 if k == len(nodes) - 2 else 1.0)
        t = np.linspace(lo, hi, 20001)[:, None]
        dense.append(a + t * (b - a))
        direction.append(np.repeat((b - a)[None], len(t), axis=0))
    dense, direction = np.concatenate(dense), np.concatenate(direction)
    for p, value in zip(points, got):
        j = np.argmin(np.linalg.norm(dense - p, axis=1))
        rel = p - dense[j]
        side = np.sign(direction[j, 0] * rel[1] - direction[j, 1] * rel[0])
        assert value == pytest.approx(side * np.linalg.norm(rel), abs=2e-4)


@pytest.fixture(scope="module")
def blume_capel12():
    T, D = [v.ravel() for v in np.meshgrid(np.linspace(0.8, 2.2, 8), [0.0, 0.5, 1.0, 1.5])]
    return pm.scan(BlumeCapel2D(L=12), {"T": T, "D": D}, 60, seed=3, progress=False)


def test_blume_capel_line_from_three_starts(blume_capel12):
    # Literature line Tc(D) (BlumeCapel2D.critical_temperature: Kwak et al. 2015, Malakis et al. 2010,
    # Beale 1986). At L = 12 on this 8 x 4 grid the line is found 0.5-8% low (the finite-size shift, seed 3);
    # the three starts (the default middle line, and lines at T = 1.0 and T = 2.1) must agree within
    # three bands and within 10% of the literature
    system = BlumeCapel2D(L=12)
    fits = [SnakeNet(features=["magnetization", "energy"], n_iterations=300, n_runs=5, n_nodes=6, initial=start)
            .fit(blume_capel12) for start in (None, [[[1.0, 0.0], [1.0, 1.5]]], [[[2.1, 0.0], [2.1, 1.5]]])]
    rows = [{cp.at["D"]: cp for cp in det.critical_points_} for det in fits]
    assert sorted(rows[0]) == [0.0, 0.5, 1.0, 1.5]
    for D, cp in rows[0].items():
        assert abs(cp.value / float(system.critical_temperature(D)) - 1) < 0.10, cp
        for other in rows[1:]:
            band = max(cp.uncertainty, other[D].uncertainty)
            assert abs(other[D].value - cp.value) < 3 * band + 1e-3, (cp, other[D])
    det = fits[0]
    assert det.history_.shape == (5, 301, 1, 6, 2) and len(det.bands_) == 1
    # regions: the left of the snake (low T) is the ordered phase at every D
    assert set(np.unique(det.labels_.values)) == {"0", "1"}
    assert (det.labels_.sel(T=0.8) == "1").all() and (det.labels_.sel(T=2.2) == "0").all()
    assert float(det.proba_.sel(T=0.8, D=0.0, snake=0)) > 0.9 > 0.1 > float(det.proba_.sel(T=2.2, D=0.0, snake=0))


def test_configurations_feed_the_network_learner(blume_capel12):
    det = SnakeNet(n_iterations=50, n_runs=2, n_nodes=4, max_epochs=3).fit(blume_capel12)
    assert det.critical_points_, "no crossing: the check below would see nothing"
    assert all(np.isfinite(cp.value) and cp.uncertainty >= 0 for cp in det.critical_points_)
    again = SnakeNet(n_iterations=50, n_runs=2, n_nodes=4, max_epochs=3).fit(blume_capel12)
    assert [cp.value for cp in again.critical_points_] == [cp.value for cp in det.critical_points_]


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: SnakeNet(n_snakes=0), "n_snakes"),
        (lambda: SnakeNet(n_runs=1), "n_runs"),
        (lambda: SnakeNet(width=0), "width"),
        (lambda: SnakeNet(features="spins"), "features"),
        (lambda: SnakeNet(features=[]), "features"),
        (lambda: SnakeNet(features=["no_such"]), "features"),
        (lambda: SnakeNet(n_snakes=2, initial=[[[1, 0], [1, 1.5]]]), "initial"),
        (lambda: SnakeNet(initial=[[1, 0]]), r"initial\[0\]"),
        (lambda: SnakeNet(axis="h"), "axis"),
    ],
)
def test_bad_parameters_name_the_field(make, words, blume_capel12):
    with pytest.raises(ValueError, match=words):
        make().fit(blume_capel12)


def test_needs_a_two_dimensional_grid_and_is_registered():
    line = pm.scan(BlumeCapel2D(L=6), {"T": [1.0, 1.5, 2.0], "D": [0.5, 0.5, 0.5]}, 5, seed=0,
                   executor=pm.SerialExecutor(), progress=False)
    with pytest.raises(ValueError, match="axis: need a 2-D grid"):
        SnakeNet(features=["energy"]).fit(line)
    assert DETECTORS["snake"] is SnakeNet
    assert parse_detectors("snake:n_snakes=2") == {"snake": {"n_snakes": 2}}
