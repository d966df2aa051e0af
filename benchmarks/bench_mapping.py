"""Evaluations each method needs to map a phase diagram to a misclassified area <= 2% against the reference.

Methods, all on the same noisy label function (the system's default labeler on ``n_samples`` fresh samples):

- ``boundary``, ``refine``, ``sobol``: phasemapper campaigns with the GP map, stopped by EvaluationsToAccuracy;
- ``grid``: the smallest n x n grid whose GP map reaches the target;
- ``adaptive``: python-adaptive's Learner2D on the one-hot label (its default loss), read by its own linear
  interpolant (argmax of the interpolated one-hot);
- ``phasemap``: the ``phasemap`` package (quadtree on an initial 5 x 5 mesh), ``num_steps`` raised until its map
  (phase of the nearest evaluated point, which is the phase of every box with a defined phase) reaches the target.

Systems: a synthetic three-phase diagram with 5% label noise; full mode adds TASEP (alpha, beta), Blume-Capel
(T, D) and Hopfield (alpha, T). Finite-size labels of the Monte Carlo systems can leave a residual error against
the thermodynamic reference: "None" means the target was not reached within the budget. Writes
benchmarks/results/bench_mapping.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

import phasemapper as pm
from phasemapper.labelers import default_labeler
from phasemapper.maps import GPClassifierMap
from phasemapper.metrics import EvaluationsToAccuracy, label_grid
from phasemapper.systems import TASEP, BlumeCapel2D, Hopfield, ThreePhase
from _provenance import run_provenance  # benchmarks/_provenance.py

TARGET = 0.02
PEER_BUDGET = 3  # the peer packages get 3x the budget, so their counts are measured rather than cut off
METHODS = ("boundary", "refine", "sobol", "grid", "adaptive", "phasemap")


class BudgetExhausted(Exception):
    """Raised by a LabelOracle asked for more than its limit of evaluations."""


class LabelOracle:
    """The noisy label a peer package sees at a point: default labeler on fresh samples seeded by (point, seed)."""

    def __init__(self, system, n_samples: int, seed: int, limit: int | None = None) -> None:
        self.system, self.n_samples, self.seed, self.limit = system, n_samples, seed, limit
        self.labeler = default_labeler(system)
        self.phases = np.asarray(self.labeler.phases)
        self.calls = 0

    def __call__(self, point) -> int:
        point = np.asarray(point, dtype=float)
        digest = hashlib.blake2b(point.tobytes() + self.seed.to_bytes(8, "little"), digest_size=8).digest()
        if self.limit is not None and self.calls >= self.limit:
            raise BudgetExhausted
        self.calls += 1
        samples = self.system.sample(point, self.n_samples, seed=int.from_bytes(digest, "little"))
        return int(np.argmax(self.labeler(samples, point)))


#: smallest misclassified area each method reached, per (system, seed, method): shows how close a None came
BEST: dict[str, float] = {}


def area(predict, system, ref, key: str | None = None) -> float:
    value = float(np.mean(label_grid(predict, system.space)[0] != ref))
    if key is not None:
        BEST[key] = min(BEST.get(key, 1.0), value)
    return value


def grid_map(system, n, n_samples, seed):
    """The GP map fitted to the default labeler's probabilities on an ``n x n`` grid."""
    lab = default_labeler(system)
    pts = system.space.grid(n)
    proba = [lab(system.sample(p, n_samples, seed=seed * 100003 + i), p) for i, p in enumerate(pts)]
    return GPClassifierMap(system.space, lab.phases).fit(pts, proba)


def finite_size_reference(system, n_samples, grid=40, factor=5, seed=99):
    """The diagram the labels themselves converge to at this size: the default labeler on ``factor * n_samples``
    samples at every point of a ``grid x grid`` mesh, smoothed by the GP map, as labels on the 100 x 100 metric grid.
    Finite-size labels (TASEP at L = 100, Hopfield at N = 200) differ from the thermodynamic diagram along the
    boundaries; against this reference every method is judged on what its labels can show."""
    return label_grid(grid_map(system, grid, factor * n_samples, seed), system.space)[0]


def campaign_evals(system, planner, seed, budget, n_samples, params=None, ref=None):
    track = EvaluationsToAccuracy(system if ref is None else (lambda p: ref_lookup(system, ref, p)), target=TARGET)
    pm.Campaign(system, planner=planner, seed=seed, batch_size=8, n_samples=n_samples,
                planner_params=params).run(budget=budget, callbacks=[track], progress=False)
    BEST[planner] = min(a for _, a in track.history) if track.history else 1.0
    return track.evaluations


def ref_lookup(system, ref, points):
    """Labels of the reference grid ``ref`` (100 x 100 over the space) at ``points`` (nearest node)."""
    u = system.space.to_unit(np.atleast_2d(points))
    idx = np.clip(np.round(u * (ref.shape[0] - 1)).astype(int), 0, ref.shape[0] - 1)
    return ref[tuple(idx.T)]


def grid_evals(system, seed, n_samples, max_n, ref):
    """Smallest n x n grid (bisection over n in [4, max_n]) whose GP map reaches the target."""

    def reaches(n):
        return area(grid_map(system, n, n_samples, seed), system, ref, "grid") <= TARGET

    if not reaches(max_n):
        return None
    lo, hi = 3, max_n  # reaches(hi) is True; lo is taken as failing
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi * hi


def adaptive_evals(system, oracle, budget, ref, batch=8):
    import adaptive

    eye = np.eye(len(oracle.phases))
    learner = adaptive.Learner2D(lambda xy: eye[oracle(xy)], bounds=[(a.low, a.high) for a in system.space.axes])
    while learner.npoints < budget:
        points, _ = learner.ask(batch)
        for p in points:
            learner.tell(p, learner.function(p))
        if learner.npoints >= 16:
            ip = learner.interpolator()
            if area(lambda g: oracle.phases[np.argmax(np.nan_to_num(ip(g)), axis=-1)], system, ref, "adaptive") <= TARGET:
                return learner.npoints
    return None


def phasemap_evals(system, oracle, budget, ref, mesh=5):
    import logging

    import phasemap
    from scipy.interpolate import NearestNDInterpolator

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # the budget stop leaves phasemap's tasks failed

    limits = [(a.low, a.high) for a in system.space.axes]
    oracle.limit = budget
    result = None
    for steps in range(1, 12):
        try:
            result = phasemap.run(oracle, limits, mesh=mesh, num_steps=steps, init_result=result)
        except BudgetExhausted:
            return None
        n = len(result.points)
        unit = np.array([[float(c) for c in coord] for coord in result.points], dtype=float)
        labels = np.array(list(result.points.values()))
        nearest = NearestNDInterpolator(unit, labels)
        if area(lambda g: oracle.phases[nearest(system.space.to_unit(g)).astype(int)], system, ref, "phasemap") <= TARGET:
            return n
        if n >= budget or len(result.boxes) == 0:
            return None
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="synthetic system, one seed (a few minutes)")
    ap.add_argument("--systems", default=None, help="comma-separated subset of: three_phase, tasep, blume_capel, hopfield")
    ap.add_argument("--seeds", default=None, help="comma-separated seeds (default 0 quick, 0,1 full)")
    ap.add_argument("--finite-reference", action="store_true",
                    help="judge the Monte Carlo systems against their own large-sample labels at the same size")
    args = ap.parse_args()
    # system, samples per evaluation, budget, largest grid side
    systems = {"three_phase (5% noise)": (ThreePhase(noise=0.05), 1, 200 if args.quick else 600, 30)}
    if not args.quick:
        systems["tasep L=100"] = (TASEP(L=100), 20, 400, 30)
        systems["blume_capel L=16"] = (BlumeCapel2D(L=16), 20, 400, 16)
        systems["hopfield N=200"] = (Hopfield(N=200), 4, 400, 16)
    if args.systems:
        keep = args.systems.split(",")
        systems = {k: v for k, v in systems.items() if k.split(" ")[0] in keep}
    seeds = [int(v) for v in args.seeds.split(",")] if args.seeds else [0] if args.quick else [0, 1]
    rows = []
    for name, (system, n_samples, budget, max_n) in systems.items():
        ref = finite_size_reference(system, n_samples) if args.finite_reference and name != "three_phase (5% noise)" \
            else label_grid(system)[0]
        for seed in seeds:
            res, secs = {}, {}
            BEST.clear()
            for method in METHODS:
                t0 = time.perf_counter()
                if method == "grid":
                    res[method] = grid_evals(system, seed, n_samples, max_n, ref)
                elif method == "adaptive":
                    res[method] = adaptive_evals(system, LabelOracle(system, n_samples, seed), PEER_BUDGET * budget, ref)
                elif method == "phasemap":
                    res[method] = phasemap_evals(system, LabelOracle(system, n_samples, seed), PEER_BUDGET * budget, ref)
                else:
                    params = {"initial": 4, "max_depth": 4} if method == "refine" else None
                    res[method] = campaign_evals(system, method, seed, budget, n_samples, params,
                                                 ref if args.finite_reference else None)
                secs[method] = round(time.perf_counter() - t0, 1)
                print(f"  {name} seed {seed} {method}: {res[method]} (best area {BEST.get(method, 1.0):.3f}, "
                      f"{secs[method]} s)", flush=True)
            rows.append({"system": name, "seed": seed, "budget": budget, **res, "seconds": secs,
                         "best_area": {m: round(BEST.get(m, 1.0), 4) for m in METHODS}})
            print(rows[-1], flush=True)
    print(f"\nevaluations to misclassified area <= {TARGET:.0%} (None: not reached within the budget)")
    print(f"{'system':<24}{'seed':>5}" + "".join(f"{m:>10}" for m in METHODS) + f"{'grid/bnd':>10}{'best peer/bnd':>15}")
    for r in rows:
        b = r["boundary"]
        ratio = f"{r['grid'] / b:.2f}x" if r["grid"] and b else "-"
        peers = [r[m] or PEER_BUDGET * r["budget"] for m in ("adaptive", "phasemap")]
        peer = f"{min(peers) / b:.2f}x" if b else "-"
        print(f"{r['system']:<24}{r['seed']:>5}" + "".join(f"{str(r[m]):>10}" for m in METHODS) + f"{ratio:>10}{peer:>15}")
    name = "bench_mapping" + ("_" + args.systems.replace(",", "_") if args.systems else "") + \
        ("_finite_reference" if args.finite_reference else "") + ("_seeds" + args.seeds.replace(",", "_") if args.seeds else "")
    out = Path(__file__).parent / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"provenance": run_provenance(), "target": TARGET, "quick": args.quick, "finite_reference": args.finite_reference,
                               "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
