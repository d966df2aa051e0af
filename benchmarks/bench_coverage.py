"""Are the reported uncertainties calibrated? Coverage of every estimator over independent seeds.

On the periodic 4 x 4 and 6 x 6 Ising models (13 temperatures in [1.9, 3.1]) each seed is one Monte
Carlo scan; every estimator's reading is compared with an answer known without that seed's noise:

- Observables (Binder crossing, susceptibility-peak extrapolation; 10,000 samples per point): the
  exact answers from exact state counts (tests/exact_ising.py);
- OptimalIndicators and the learned detectors that estimate the same indicators (Confusion,
  PredictionDivergence, FisherMetric, SupervisedExtremes; 400 samples per point): the optimal
  indicators' reading on samples drawn from the exact energy distributions, 50 times as many
  (the Bayes-optimal limit each learned detector approximates);
- PCA's Binder crossing of its leading component: the exact Binder crossing (the leading component
  of the Ising model is its magnetization).

For each it prints the share of seeds whose answer lies within 2 reported sigma (95% when calibrated),
the rms and the mean of z = (reading - answer) / sigma, and the fit time, and writes
results/bench_coverage.json. ``--quick`` runs 4 seeds; the default runs 20, two at a time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from exact_ising import exact_finite_size_answers, exact_scan  # noqa: E402

import phasemapper as pm  # noqa: E402
from phasemapper.detectors import (PCA, Confusion, FisherMetric, Observables, OptimalIndicators,  # noqa: E402
                                   PredictionDivergence, SupervisedExtremes)
from phasemapper.systems import Ising2D  # noqa: E402
from _provenance import run_provenance  # noqa: E402  benchmarks/_provenance.py

SIZES = (4, 6)
T = np.linspace(1.9, 3.1, 13)
#: the learned detectors whose readings estimate the optimal indicators of the same name
LEARNED = (Confusion, PredictionDivergence, FisherMetric, SupervisedExtremes)


def fit_seed(seed: int) -> tuple[list[tuple[str, str, float, float]], dict[str, float]]:
    """One seed's scans and every estimator on them: ``(estimator, method, value, sigma)`` rows and fit times."""
    import torch

    torch.set_num_threads(1)  # one seed per worker process, one core each
    big = {L: pm.scan(Ising2D(L=L), {"T": T}, 10000, seed=seed, executor=pm.SerialExecutor(), progress=False)
           for L in SIZES}
    small = {L: ds.isel(sample=slice(0, 400)) for L, ds in big.items()}
    fits = [(Observables(), big), (OptimalIndicators(), small), (PCA(seed=seed), small)]
    fits += [(cls(seed=seed), small) for cls in LEARNED]
    rows, seconds = [], {}
    for det, scans in fits:
        started = time.perf_counter()
        det.fit(scans)
        seconds[type(det).__name__] = time.perf_counter() - started
        rows += [(type(det).__name__, cp.method, cp.value, cp.uncertainty) for cp in det.critical_points_]
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 seeds")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 20, 4 with --quick)")
    args = parser.parse_args()
    n_seeds = args.seeds or (4 if args.quick else 20)

    exact = exact_finite_size_answers(*SIZES)
    optimal = OptimalIndicators(n_bootstrap=20).fit({L: exact_scan(L, T, 20000, np.random.default_rng(2026))
                                                     for L in SIZES})
    reference = {cp.method: cp for cp in optimal.critical_points_}
    z: dict[tuple[str, str], list[float]] = {}
    seconds: dict[str, float] = {}
    with pm.ProcessPool(2) as pool:
        for seed, future in enumerate([pool.submit(fit_seed, s) for s in range(1, n_seeds + 1)], start=1):
            rows, times = future.result()
            for name, t in times.items():
                seconds[name] = seconds.get(name, 0.0) + t
            for name, method, value, sigma in rows:
                if name == "Observables":
                    answer = exact[method]
                elif name == "PCA":
                    if not method.startswith("pca_binder_crossing"):
                        continue  # the k-means split has no answer known without noise
                    answer = exact["binder_crossing"]
                elif method in reference:  # the learned detectors name their readings as the optimal ones do
                    answer, sigma = reference[method].value, float(np.hypot(sigma, reference[method].uncertainty))
                else:
                    continue
                z.setdefault((name, method), []).append((value - answer) / sigma)
            print(f"seed {seed} done", flush=True)

    rows = []
    for (estimator, method), values in sorted(z.items()):
        v = np.asarray(values)
        rows.append({"estimator": estimator, "method": method, "seeds": len(v),
                     "within_2_sigma": float(np.mean(np.abs(v) <= 2)), "rms_z": float(np.sqrt(np.mean(v**2))),
                     "mean_z": float(v.mean()), "fit_seconds_per_seed": seconds[estimator] / n_seeds})
    print(f"\nCoverage over {n_seeds} seeds (Ising L = 4, 6; calibrated: 95% within 2 sigma, rms z = 1)")
    print(f"{'estimator':22s} {'method':52s} {'seeds':>5s} {'within 2':>9s} {'rms z':>6s} {'mean z':>7s} {'fit s':>6s}")
    for r in rows:
        print(f"{r['estimator']:22s} {r['method']:52s} {r['seeds']:5d} {r['within_2_sigma']:9.0%} {r['rms_z']:6.2f} "
              f"{r['mean_z']:+7.2f} {r['fit_seconds_per_seed']:6.1f}")
    out = Path(__file__).parent / "results" / "bench_coverage.json"
    out.write_text(json.dumps({"provenance": run_provenance(), "quick": args.quick, "seeds": n_seeds,
                               "exact": exact, "rows": rows}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
