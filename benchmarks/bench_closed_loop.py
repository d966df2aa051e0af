"""Experiments needed to map a binary eutectic: theory in the loop vs GP-only active learning, random, full grid.

Truth: Pb-Sn (Ngai & Chang 1981) and the approximate Bi-Sn model shipped with phasemapper. Experiments report
phase assemblages (detection limit 3%, no flips). Theory in the loop starts from the same database with its liquid
L0, L1 perturbed by +1500 / -700 J/mol and refits them after every batch of 4 (CalphadTheory); its diagram is the
refit CALPHAD model. GP-only and random use the GP phase map alone. The full grid has the resolution the targets
need (2 x 2 at.% in composition, 2 x 3 K in temperature). Targets: eutectic T within 3 K and composition within
2 at.%, liquidus and solvus within 5 K (Hausdorff distance of boundary points on a 0.01 x 2 K evaluation grid,
a composition difference of 2 at.% counting as 5 K). Writes
benchmarks/results/bench_closed_loop.json.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import phasemapper as pm
from phasemapper.metrics import _boundary_points
from phasemapper.systems import Calphad, Experiment
from phasemapper.theory import CalphadTheory
from _provenance import run_provenance  # benchmarks/_provenance.py

TARGETS = {"eutectic_T": 3.0, "eutectic_x": 0.02, "liquidus": 5.0, "solvus": 5.0}


X_STEP, T_STEP = 0.01, 2.0  # evaluation grid of the features


def boundary_points(mask: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Midpoints ``(n, 2)`` (x, T) of the grid edges across which ``mask`` changes."""
    u = _boundary_points(mask)  # unit-cube coordinates on the (uniform) grid
    return np.column_stack([x[0] + u[:, 0] * (x[-1] - x[0]), t[0] + u[:, 1] * (t[-1] - t[0])])


def features(labels_at, space) -> dict[str, object]:
    """Eutectic (first T with liquid; composition at the liquidus minimum), liquidus and solvus read off the labels on a 0.01 x 2 K grid.

    The liquidus is the boundary of the all-liquid region, the solvus the boundary between one and two solids;
    each is a set of boundary points, so steep and flat parts are both located.
    """
    x = np.arange(0.0, 1.0 + 1e-9, X_STEP)
    t = np.arange(space["T"].low, space["T"].high + 1e-9, T_STEP)
    if isinstance(labels_at, Calphad):  # one pycalphad call on the grid
        frac, _ = labels_at.fractions_grid(x, t)
        lab = np.asarray(labels_at.phases)[labels_at.assemblage_index(frac.reshape(-1, frac.shape[-1]))]
    else:
        lab = np.asarray(labels_at(np.array(np.meshgrid(x, t, indexing="ij")).reshape(2, -1).T))
    lab = lab.astype(str).reshape(len(x), len(t))
    has_liq = np.char.find(lab, "LIQUID") >= 0
    two_solid = (~has_liq) & (np.char.find(lab, "+") >= 0)
    one_solid = (~has_liq) & ~two_solid
    first_liq = np.where(has_liq.any(axis=1), t[np.argmax(has_liq, axis=1)], np.inf)
    t_e = float(first_liq.min())
    all_liq = lab == "LIQUID"  # the eutectic composition is where the liquidus is lowest
    first_all = np.where(all_liq.any(axis=1), t[np.argmax(all_liq, axis=1)], np.inf)
    x_e = float(x[first_all == first_all.min()].mean()) if np.isfinite(first_all.min()) else math.nan
    solvus = boundary_points(two_solid, x, t)
    solvus = solvus[~boundary_touches(has_liq, solvus, x, t)]  # the solid/liquid part is not the solvus
    return {"eutectic_T": t_e, "eutectic_x": x_e, "liquidus": boundary_points(all_liq, x, t),
            "solvus": solvus}


def boundary_touches(region: np.ndarray, pts: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Whether each boundary point lies next to (within one grid step of) a cell of ``region``."""
    i = np.clip(np.round(pts[:, 0] / X_STEP).astype(int), 0, len(x) - 1)
    j = np.clip(np.round((pts[:, 1] - t[0]) / T_STEP).astype(int), 0, len(t) - 1)
    out = np.zeros(len(pts), bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            out |= region[np.clip(i + di, 0, len(x) - 1), np.clip(j + dj, 0, len(t) - 1)]
    return out


def curve_distance(est: np.ndarray, ref: np.ndarray, tol_T: float) -> float:
    """Symmetric Hausdorff distance between two boundary point sets, in K.

    A composition difference counts as ``dx * tol_T / TARGETS['eutectic_x']`` kelvin and the larger of the two
    differences is taken, so a boundary is "within 5 K" where every point of each curve has a point of the other
    within 5 K and 2 at.%: steep curves (a solvus near its solubility limit) are judged by composition, flat ones by
    temperature.
    """
    if len(ref) == 0 and len(est) == 0:
        return 0.0
    if len(ref) == 0 or len(est) == 0:
        return math.inf
    scale = np.array([tol_T / TARGETS["eutectic_x"], 1.0])
    from scipy.spatial import cKDTree

    a, b = est * scale, ref * scale
    d1 = cKDTree(b).query(a, p=np.inf)[0].max()
    d2 = cKDTree(a).query(b, p=np.inf)[0].max()
    return float(max(d1, d2))


def errors(est: dict, ref: dict) -> dict[str, float]:
    out = {"eutectic_T": abs(est["eutectic_T"] - ref["eutectic_T"]), "eutectic_x": abs(est["eutectic_x"] - ref["eutectic_x"])}
    for k in ("liquidus", "solvus"):
        out[k] = curve_distance(est[k], ref[k], TARGETS[k])
    return out


def met(err: dict[str, float]) -> bool:
    return all(err[k] <= TARGETS[k] + 1e-9 for k in TARGETS)  # distances are sums of scaled floats


def run_campaign(truth, method, budget, seed, ref):
    exp = Experiment(truth, detection_limit=0.03)
    theory = None
    if method == "theory":
        start = Calphad(truth.database_name, truth.components, free_parameters=[
            {"phase": "LIQUID", "order": 0}, {"phase": "LIQUID", "order": 1}],
            parameters={"L0_LIQUID": 1500.0, "L1_LIQUID": -700.0})
        theory = CalphadTheory(start, detection_limit=0.03, flip=0.02, seed=seed)
    history = []
    state = {"n": None}

    def check(campaign, info):
        n = info["n_evaluations"]
        if n < 8:
            return False
        if theory is not None:
            model = theory.fitted_model()
            est = features(model, truth.space)
        else:
            est = features(campaign.fitted_map().predict, truth.space)
        err = errors(est, ref)
        history.append((n, err))
        if met(err) and state["n"] is None:
            state["n"] = n
        return state["n"] is not None

    pm.Campaign(exp, planner="random" if method == "random" else "boundary", executor=pm.SerialExecutor(),
                batch_size=4, seed=seed, theory=theory).run(budget=budget, callbacks=[check], progress=False)
    return state["n"], history[-1][1] if history else None


def grid_count(truth, ref):
    """The coarsest uniform grid whose nearest-neighbour map meets every target: (points, errors, shape)."""
    from scipy.interpolate import NearestNDInterpolator

    span = truth.space["T"].high - truth.space["T"].low
    shapes = sorted(((nx, int(round(span / dt)) + 1) for nx in (21, 26, 34, 41, 51) for dt in (10.0, 6.0, 5.0, 4.0, 3.0, 2.0)),
                    key=lambda s: s[0] * s[1])
    err = None
    for nx, nt in shapes:
        pts = truth.space.grid([nx, nt])
        labels = truth.reference_phase(pts)
        nearest = NearestNDInterpolator(truth.space.to_unit(pts), np.arange(len(pts)))
        err = errors(features(lambda g: labels[nearest(truth.space.to_unit(g)).astype(int)], truth.space), ref)
        if met(err):
            return nx * nt, err, (nx, nt)
    return None, err, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="Pb-Sn only, one seed, smaller budgets")
    args = ap.parse_args()
    truths = {"Pb-Sn": Calphad.pbsn()} if args.quick else {"Pb-Sn": Calphad.pbsn(), "Bi-Sn": Calphad.bisn()}
    seeds = [0] if args.quick else [0, 1]
    budget = {"theory": 40 if args.quick else 60, "gp_only": 40 if args.quick else 400, "random": 40 if args.quick else 400}
    rows = []
    for name, truth in truths.items():
        ref = features(truth, truth.space)
        n_grid, grid_err, shape = grid_count(truth, ref)
        rows.append({"system": name, "method": "grid", "seed": None, "experiments": n_grid, "grid_shape": shape,
                     "grid_points": n_grid, "errors": grid_err})
        print(rows[-1], flush=True)
        for seed in seeds:
            for method in ("theory", "gp_only", "random"):
                t0 = time.perf_counter()
                n, err = run_campaign(truth, method, budget[method], seed, ref)
                rows.append({"system": name, "method": method, "seed": seed, "experiments": n, "budget": budget[method],
                             "errors": err, "seconds": round(time.perf_counter() - t0, 1)})
                print(rows[-1], flush=True)
    print(f"\nexperiments to eutectic T within {TARGETS['eutectic_T']} K, x within {TARGETS['eutectic_x']:.0%}, "
          f"liquidus and solvus within {TARGETS['liquidus']} K (None: not within the budget)")
    print(f"{'system':<8}{'method':<10}{'seed':>6}{'experiments':>13}{'grid/this':>11}  final errors (T_e K, x_e, liquidus K, solvus K)")
    for r in rows:
        grid = next(g["grid_points"] for g in rows if g["system"] == r["system"] and g["method"] == "grid")
        ratio = f"{grid / r['experiments']:.1f}x" if r["experiments"] and grid else "-"
        e = r["errors"] or {}
        print(f"{r['system']:<8}{r['method']:<10}{str(r['seed']):>6}{str(r['experiments']):>13}{ratio:>11}  "
              + ", ".join(f"{e.get(k, float('nan')):.3g}" for k in TARGETS))
    out = Path(__file__).parent / "results" / "bench_closed_loop.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"provenance": run_provenance(), "targets": TARGETS, "quick": args.quick, "rows": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
