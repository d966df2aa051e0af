"""Planners: the contract every planner passes (ask/tell, order independence, rebuild), refinement."""

from __future__ import annotations

import json

import numpy as np
import pytest

from phasemapper import Axis, Space
from phasemapper.planners import (
    Boundary,
    Entropy,
    Grid,
    Pool,
    Random,
    Refine,
    Sobol,
    planner_from_dict,
)

from square import SQUARE, right_half

# ------------------------------------------------------------------ planners
PLANNERS = {
    "grid": lambda: Grid(SQUARE, points_per_axis=6, seed=3),
    "sobol": lambda: Sobol(SQUARE, seed=3),
    "random": lambda: Random(SQUARE, seed=3),
    "boundary": lambda: Boundary(SQUARE, ["left", "right"], n_initial=8, n_candidates=256, seed=3),
    "refine": lambda: Refine(SQUARE, initial=2, max_depth=3, seed=3),
    "entropy": lambda: Entropy(SQUARE, ["left", "right"], n_initial=8, n_candidates=256, seed=3),
    "pool(boundary)": lambda: Pool(Boundary(SQUARE, ["left", "right"], n_initial=8, seed=3), SQUARE.grid(12)),
    "pool(sobol)": lambda: Pool(Sobol(SQUARE, seed=3), SQUARE.grid(12)),
}


def _drive(planner, rounds=3, n=6, shuffle=False, twice=False):
    for r in range(rounds):
        pts = planner.ask(n)
        vals = right_half(pts)
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
