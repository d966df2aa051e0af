"""Evaluations each planner needs to map a phase diagram to a misclassified area <= 2%.

Methods: Boundary, Refine, Sobol (campaigns with the GP map, stopped by EvaluationsToAccuracy) and the uniform
grid (the smallest n x n grid whose GP map reaches the target). Systems: the synthetic three-phase diagram with
5% label noise, and (full mode) TASEP (alpha, beta) at L = 100. Writes benchmarks/results/bench_mapping.json.

Not yet compared here (left open): python-adaptive's Learner2D, the phasemap package, Blume-Capel and Hopfield.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import phasemapper as pm
from phasemapper.maps import GPClassifierMap
from phasemapper.metrics import EvaluationsToAccuracy, misclassified_area
from phasemapper.systems import TASEP, ThreePhase


def campaign_evals(system, planner, seed, target, budget, n_samples, params=None):
    track = EvaluationsToAccuracy(system, target=target)
    pm.Campaign(system, planner=planner, seed=seed, batch_size=8, n_samples=n_samples,
                planner_params=params).run(budget=budget, callbacks=[track], progress=False)
    return track.evaluations


def grid_evals(system, seed, target, n_samples, max_n):
    from phasemapper.labelers import default_labeler

    lab = default_labeler(system)
    for n in range(4, max_n + 1):
        pts = system.space.grid(n)
        proba = [lab(system.sample(p, n_samples, seed=seed * 100003 + i), p) for i, p in enumerate(pts)]
        m = GPClassifierMap(system.space, lab.phases).fit(pts, proba)
        if misclassified_area(m, system) <= target:
            return n * n
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="synthetic system, one seed (about a minute)")
    args = ap.parse_args()
    target = 0.02
    systems = {"three_phase (5% noise)": (ThreePhase(0.05), 1, 600, 30)}
    if not args.quick:
        systems["tasep L=100"] = (TASEP(L=100), 20, 400, 16)
    seeds = [0] if args.quick else [0, 1, 2]
    rows = []
    for name, (system, n_samples, budget, max_n) in systems.items():
        for seed in seeds:
            t0 = time.perf_counter()
            res = {
                "boundary": campaign_evals(system, "boundary", seed, target, budget, n_samples),
                "refine": campaign_evals(system, "refine", seed, target, budget, n_samples, {"initial": 4, "max_depth": 4}),
                "sobol": campaign_evals(system, "sobol", seed, target, budget, n_samples),
                "grid": grid_evals(system, seed, target, n_samples, max_n),
            }
            rows.append({"system": name, "seed": seed, **res, "seconds": round(time.perf_counter() - t0, 1)})
            print(rows[-1], flush=True)
    print(f"\nevaluations to misclassified area <= {target:.0%} (None: not reached within the budget)")
    print(f"{'system':<24}{'seed':>5}{'boundary':>10}{'refine':>8}{'sobol':>7}{'grid':>6}{'grid/boundary':>15}")
    for r in rows:
        ratio = f"{r['grid'] / r['boundary']:.2f}x" if r["grid"] and r["boundary"] else "-"
        print(f"{r['system']:<24}{r['seed']:>5}{str(r['boundary']):>10}{str(r['refine']):>8}{str(r['sobol']):>7}"
              f"{str(r['grid']):>6}{ratio:>15}")
    out = Path(__file__).parent / "results" / "bench_mapping.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"target": target, "quick": args.quick, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
