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
results/bench_coverage.json. ``--quick`` runs 4 seeds; the default runs 20.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.optimize import brentq, minimize_scalar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from exact_ising import exact_observables, sample_exact  # noqa: E402

import phasemapper as pm  # noqa: E402
from phasemapper.detectors import (PCA, Confusion, FisherMetric, Observables, OptimalIndicators,  # noqa: E402
                                   PredictionDivergence, SupervisedExtremes)
from phasemapper.systems import Ising2D  # noqa: E402
from _provenance import run_provenance  # noqa: E402  benchmarks/_provenance.py

SIZES = (4, 6)
T = np.linspace(1.9, 3.1, 13)
#: the learned detectors whose readings estimate the optimal indicators of the same name
LEARNED = (Confusion, PredictionDivergence, FisherMetric, SupervisedExtremes)


def exact_answers() -> dict[str, float]:
    crossing = brentq(lambda t: exact_observables(6, t)["binder"] - exact_observables(4, t)["binder"], 2.0, 2.6)
    peaks = {L: minimize_scalar(lambda t: -exact_observables(L, t)["susceptibility"], bounds=(2.3, 3.1),
                                method="bounded", options={"xatol": 1e-7}).x for L in SIZES}
    fss = (peaks[4] / 6 - peaks[6] / 4) / (1 / 6 - 1 / 4)
    return {"binder_crossing": crossing, "susceptibility_peak_fss": fss}


def exact_scan(L: int, n: int, rng: np.random.Generator) -> xr.Dataset:
    m, e = zip(*[sample_exact(L, t, n, rng) for t in T])
    return xr.Dataset({"configuration": (("point", "sample", "y", "x"), np.zeros((len(T), n, L, L), np.int8)),
                       "magnetization": (("point", "sample"), np.array(m)),
                       "energy": (("point", "sample"), np.array(e))},
                      coords={"T": ("point", T)}, attrs={"size": L, "n_sites": L * L})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 seeds (about a minute per learned detector)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 20, 4 with --quick)")
    args = parser.parse_args()
    n_seeds = args.seeds or (4 if args.quick else 20)

    exact = exact_answers()
    optimal = OptimalIndicators(n_bootstrap=20).fit({L: exact_scan(L, 20000, np.random.default_rng(2026))
                                                     for L in SIZES})
    reference = {cp.method: cp for cp in optimal.critical_points_}
    z: dict[tuple[str, str], list[float]] = {}
    seconds: dict[str, float] = {}

    def record(estimator: str, method: str, value: float, sigma: float, answer: float) -> None:
        z.setdefault((estimator, method), []).append((value - answer) / sigma)

    for seed in range(1, n_seeds + 1):
        big = {L: pm.scan(Ising2D(L=L), {"T": T}, 10000, seed=seed, executor=pm.SerialExecutor(), progress=False)
               for L in SIZES}
        small = {L: ds.isel(sample=slice(0, 400)) for L, ds in big.items()}
        fits = [(Observables(), big), (OptimalIndicators(), small), (PCA(seed=seed), small)]
        fits += [(cls(seed=seed), small) for cls in LEARNED]
        for det, scans in fits:
            name = type(det).__name__
            started = time.perf_counter()
            det.fit(scans)
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
            for cp in det.critical_points_:
                if name == "Observables":
                    record(name, cp.method, cp.value, cp.uncertainty, exact[cp.method])
                elif name == "PCA" and cp.method.startswith("pca_binder_crossing"):
                    record(name, cp.method, cp.value, cp.uncertainty, exact["binder_crossing"])
                elif cp.method in reference:  # the learned detectors name their readings as the optimal ones do
                    ref = reference[cp.method]
                    record(name, cp.method, cp.value, float(np.hypot(cp.uncertainty, ref.uncertainty)), ref.value)
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
