"""Phase diagrams of training: each learning system mapped on a full grid and by a Campaign, and its paper's check.

For SGDTeacherStudent (Park, Lucini & Aarts 2025), PerceptronSGD (Sclocchi, Geiger & Wyart 2023) and
GANParticles (Durr, Mroueh, Tu & Wang 2023):

- ``maps``: the GP map of the default labeler on an n x n grid (n = 12; 6 in --quick) against a boundary
  Campaign given a third of the grid's evaluations; the Campaign's evaluations to a map within 5% misclassified
  area of the grid's map, its best area, and both wall times;
- ``sgd_boundary``: the ferro / spin-glass crossing along sigma_w at T = 2^-5 (where the runs' ferro and
  spin-glass shares cross), with its bootstrap error, beside the paper's sigma_w = 1/sqrt(2) and the same
  bimodality criterion with this network's first-layer features (sigma_w = 1.206);
- ``perceptron_tc``: T_c(P) at alpha = 1 (where half the runs are noise-dominated) for P = 2^7 .. 2^12 and
  chi = 0, 1, its power-law exponent with a standard error, and the growth exponent gamma of ||w - w0|| ~ T P^gamma
  under strong noise beside 1 / (1 + chi);
- ``gan_collapse``: the mode-collapse crossing along kernel_ratio at lr_d = 0.03;
- ``gan_damping``: steps to converge against the gradient-penalty strength at kernel_ratio = 0.01.

Writes benchmarks/results/bench_learning.json and the diagrams to docs/images/learning/.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import phasemapper as pm
from phasemapper.labelers import default_labeler
from phasemapper.metrics import EvaluationsToAccuracy, label_grid
from phasemapper.systems import GANParticles, PerceptronSGD, SGDTeacherStudent
from _provenance import run_provenance  # benchmarks/_provenance.py
from _tables import print_table  # benchmarks/_tables.py

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.05


def map_comparison(name, system, n_grid, n_samples, seed, figures):
    """Grid map and boundary Campaign (a third of the grid's evaluations) of ``system``: one row."""
    t0 = time.perf_counter()
    grid = pm.Campaign(system, planner="grid", planner_params={"points_per_axis": n_grid}, n_samples=n_samples,
                       seed=seed, batch_size=8)
    grid_result = grid.run(budget=n_grid**2, progress=False)
    grid_seconds = time.perf_counter() - t0
    reference = grid.fitted_map()
    track = EvaluationsToAccuracy(reference, target=TARGET)
    t0 = time.perf_counter()
    campaign = pm.Campaign(system, planner="boundary", n_samples=n_samples, seed=seed + 1, batch_size=8)
    result = campaign.run(budget=n_grid**2 // 3, callbacks=[track], progress=False)
    seconds = time.perf_counter() - t0
    ref_labels, _ = label_grid(reference, system.space)
    shares = {p: float(np.mean(ref_labels == p)) for p in default_labeler(system).phases}
    if figures is not None:
        draw_maps(name, system, grid_result, result, figures)
    best = min((a for _, a in track.history), default=None)
    return {
        "system": name,
        "grid": f"{n_grid} x {n_grid}",
        "runs_per_point": n_samples,
        "grid_evaluations": n_grid**2,
        "grid_seconds": round(grid_seconds, 1),
        "campaign_budget": n_grid**2 // 3,
        "campaign_evaluations_to_5pct": track.evaluations,
        "evaluations_ratio": None if track.evaluations is None else round(track.evaluations / n_grid**2, 3),
        "campaign_best_area": None if best is None else round(best, 4),
        "campaign_seconds": round(seconds, 1),
        "failed_evaluations": int(grid_result.n_failed + result.n_failed),
        "grid_map_shares": {k: round(v, 3) for k, v in shares.items()},
    }


def draw_maps(name, system, grid_result, result, figures):
    import matplotlib

    matplotlib.use("Agg")  # a script's own figures: no display
    import matplotlib.pyplot as plt

    from phasemapper.plot import plot_map, plot_points

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    plot_map(grid_result.phase_map, ax=axes[0])
    axes[0].set_title(f"{name}: grid map ({len(grid_result.points)} evaluations)")
    plot_points(result.phase_map, result.points, result.labels, ax=axes[1])
    axes[1].set_title(f"boundary campaign ({len(result.points)} evaluations)")
    fig.tight_layout()
    figures.mkdir(parents=True, exist_ok=True)
    fig.savefig(figures / f"{name}.png", dpi=90)
    plt.close(fig)


def crossing(x, a, b, n_boot=200, seed=0):
    """Where share ``a`` minus share ``b`` first turns from > 0 to <= 0 along log x, with its error in log x.

    ``a`` and ``b`` are ``(points, runs)`` booleans. The error adds the bootstrap spread (the runs resampled at
    every point) and the grid's resolution (a uniform position within one step of log x: step / sqrt 12).
    """
    def root(a_, b_):
        d = a_.mean(1) - b_.mean(1)
        idx = np.nonzero((d[:-1] > 0) & (d[1:] <= 0))[0]
        if idx.size == 0:
            return math.nan
        j = int(idx[0])
        lx = np.log(x)
        return float(np.exp(lx[j] + (lx[j + 1] - lx[j]) * d[j] / (d[j] - d[j + 1])))

    rng = np.random.default_rng(seed)
    n = a.shape[1]
    boots = []
    for _ in range(n_boot):
        pick = rng.integers(0, n, size=(a.shape[0], n))
        boots.append(root(np.take_along_axis(a, pick, 1), np.take_along_axis(b, pick, 1)))
    boots = np.asarray(boots)
    found = boots[np.isfinite(boots)]
    resolution = float(np.max(np.diff(np.log(x)))) / math.sqrt(12.0)
    spread = float(np.std(np.log(found))) if found.size > 2 else math.nan
    return root(a, b), math.hypot(spread, resolution), float(found.size / n_boot)


def _labels_at(task):
    system, point, n_runs, seed = task
    return default_labeler(system).run_labels(system.sample(point, n_runs, seed=seed), np.asarray(point, dtype=float))


def run_labels(system, points, n_runs, seed):
    """Each run's phase index at each point: ``(points, runs)``, the points sampled on two worker processes."""
    from loky import get_reusable_executor

    tasks = [(system, p, n_runs, seed + i) for i, p in enumerate(points)]
    return np.array(list(get_reusable_executor(max_workers=2).map(_labels_at, tasks)))


def _observables_at(task):
    system, point, n_runs, seed = task
    return system.sample(point, n_runs, seed=seed).observables


def sgd_boundary(system, n_points, n_runs, seed):
    T = 2.0**-5
    sigma = np.geomspace(0.35, 4.0, n_points)
    labels = run_labels(system, [[T, s] for s in sigma], n_runs, seed)
    phases = default_labeler(system).phases
    value, log_error, found = crossing(sigma, labels == phases.index("ferro"), labels == phases.index("spin_glass"))
    paper, bimodal = 1 / math.sqrt(2), system.bimodal_sigma_w()
    return {"T": T, "sigma_w_crossing": round(value, 4), "log_error": round(log_error, 4),
            "bootstrap_found": found, "paper_sigma_w": round(paper, 4), "bimodal_sigma_w": round(bimodal, 4),
            "ratio_to_paper": round(value / paper, 3), "ratio_to_bimodal": round(value / bimodal, 3),
            "within_15pct_of_paper": bool(abs(value / paper - 1) <= 0.15),
            "within_15pct_of_bimodal": bool(abs(value / bimodal - 1) <= 0.15)}


def power_law(x, y, log_errors):
    """Weighted least squares of log y on log x: slope and its standard error (scaled by the fit's chi^2 if > 1)."""
    lx, ly, w = np.log(x), np.log(y), 1.0 / np.asarray(log_errors) ** 2
    A = np.column_stack([np.ones_like(lx), lx])
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    coef = cov @ (A.T @ (w * ly))
    chi2 = float(np.sum(w * (ly - A @ coef) ** 2)) / max(len(x) - 2, 1)
    return float(coef[1]), float(math.sqrt(cov[1, 1] * max(chi2, 1.0))), chi2


def perceptron_tc(sizes, chis, temperatures, n_runs, seed):
    rows, fits = [], []
    for chi in chis:
        tcs, errors, hot_changes = [], [], []
        for P in sizes:
            system = PerceptronSGD(n_train=P, chi=chi, n_test=256)
            labels = run_labels(system, [[1.0, T] for T in temperatures], n_runs, seed)
            noisy = labels >= 2  # lazy_noisy or feature_noisy
            value, log_error, found = crossing(temperatures, ~noisy, noisy)
            hot = _observables_at((system, [1.0, float(temperatures[-1]) * 4], n_runs, seed + 7919))["change"]
            rows.append({"chi": chi, "P": P, "T_c": round(value, 4), "log_error": round(log_error, 4),
                         "bootstrap_found": found, "change_at_hot_T": round(float(hot.mean()), 2)})
            tcs.append(value)
            errors.append(log_error)
            hot_changes.append(hot)
        ok = np.isfinite(tcs)
        slope, se, chi2 = power_law(np.array(sizes)[ok], np.array(tcs)[ok], np.array(errors)[ok]) if ok.sum() > 2 \
            else (math.nan, math.nan, math.nan)
        means = np.array([h.mean() for h in hot_changes])
        log_se = np.array([h.std(ddof=1) / h.mean() / math.sqrt(h.size) for h in hot_changes])
        gamma, gamma_se, _ = power_law(np.array(sizes), means, np.maximum(log_se, 1e-3))
        fits.append({"chi": chi, "T_c_exponent": round(slope, 3), "T_c_exponent_se": round(se, 3),
                     "T_c_fit_chi2_per_dof": round(chi2, 2), "gamma": round(gamma, 3), "gamma_se": round(gamma_se, 3),
                     "gamma_expected": round(1 / (1 + chi), 3)})
    return rows, fits


def gan_collapse(system, n_points, n_runs, seed):
    lr_d = 0.03
    ratios = np.geomspace(0.01, 1.0, n_points)
    labels = run_labels(system, [[r, lr_d] for r in ratios], n_runs, seed)
    value, log_error, found = crossing(ratios, labels != 1, labels == 1)  # not collapsed -> collapsed
    return {"lr_d": lr_d, "kernel_ratio_crossing": round(value, 4), "log_error": round(log_error, 4),
            "bootstrap_found": found, "collapsed_share_by_ratio": [round(float(v), 2) for v in (labels == 1).mean(1)]}


def gan_damping(penalties, steps, n_runs, seed):
    from loky import get_reusable_executor

    tasks = [(GANParticles(gradient_penalty=gp, steps=steps, n_records=101), [0.01, 0.1], n_runs, seed)
             for gp in penalties]
    rows = []
    for gp, obs in zip(penalties, get_reusable_executor(max_workers=2).map(_observables_at, tasks)):
        s = obs["converged_step"]
        rows.append({"gradient_penalty": gp, "mean_steps_to_converge": round(float(s.mean()), 1),
                     "standard_error": round(float(s.std(ddof=1) / math.sqrt(s.size)), 1),
                     "converged_share": round(float(obs["converged"].mean()), 3),
                     "diverged_share": round(float(obs["diverged"].mean()), 3)})
    fastest = min(rows, key=lambda r: r["mean_steps_to_converge"])
    return rows, {"fastest_penalty": fastest["gradient_penalty"],
                  "fastest_is_intermediate": fastest["gradient_penalty"] not in (penalties[0], penalties[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller grids, shorter training, fewer runs (about a minute)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-figures", action="store_true", help="do not write docs/images/learning/*.png")
    args = ap.parse_args()
    quick, seed = args.quick, args.seed
    figures = None if args.no_figures or quick else ROOT / "docs" / "images" / "learning"
    t_start = time.perf_counter()
    n_grid = 5 if quick else 12
    sgd = SGDTeacherStudent(steps=1000, n_train=800) if quick else SGDTeacherStudent()
    perceptron = PerceptronSGD(n_train=256, n_test=256) if quick else PerceptronSGD(n_test=512)
    gan = GANParticles(steps=400, n_particles=32) if quick else GANParticles()
    runs = 4 if quick else 8
    maps = []
    for name, system in (("sgd_teacher_student", sgd), ("perceptron_sgd", perceptron), ("gan_particles", gan)):
        maps.append(map_comparison(name, system, n_grid, runs, seed, figures))
        print(f"{name}: mapped at {time.perf_counter() - t_start:.0f} s", flush=True)
    print_table("maps: grid against a boundary campaign (a third of the grid's evaluations)", maps)
    boundary = sgd_boundary(sgd, 5 if quick else 12, 6 if quick else 16, seed)
    print_table("SGDTeacherStudent: ferro / spin-glass crossing in sigma_w at T = 2^-5", boundary)
    sizes = [2**7, 2**8, 2**9] if quick else [2**k for k in range(7, 13)]
    temperatures = np.geomspace(0.5, 32.0, 5 if quick else 13)
    tc_rows, tc_fits = perceptron_tc(sizes, [0.0, 1.0], temperatures, 6 if quick else 16, seed)
    print_table("PerceptronSGD: T_c(P) at alpha = 1", tc_rows)
    print_table("PerceptronSGD: T_c ~ P^exponent and ||w - w0|| ~ T P^gamma", tc_fits)
    collapse = gan_collapse(gan, 4 if quick else 9, 4 if quick else 16, seed)
    print_table("GANParticles: mode-collapse crossing in kernel_ratio", collapse)
    penalties = [0.0, 0.01, 1.0] if quick else [0.0, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0]
    damping, damping_summary = gan_damping(penalties, 600 if quick else 4000, 4 if quick else 16, seed)
    print_table("GANParticles: steps to converge against the R1 penalty (kernel_ratio 0.01, lr_d 0.1)", damping)
    print_table("", damping_summary)
    out = {
        "provenance": run_provenance(),
        "quick": quick,
        "seconds": round(time.perf_counter() - t_start, 1),
        "maps": maps,
        "sgd_boundary": boundary,
        "perceptron_tc": tc_rows,
        "perceptron_exponents": tc_fits,
        "gan_collapse": collapse,
        "gan_damping": damping,
        "gan_damping_summary": damping_summary,
    }
    path = ROOT / "benchmarks" / "results" / ("bench_learning_quick.json" if quick else "bench_learning.json")
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path} in {out['seconds']} s")


if __name__ == "__main__":
    main()
