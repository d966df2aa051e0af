"""Accuracy and cost of every detector: Ising Tc per size, Fisher metric vs exact, Blume-Capel and TASEP boundaries.

In one run:

1. Ising scans at L = 16, 32, 64 (41 temperatures in [1.8, 2.8], 300 samples per
   point, seed 1): each detector's Tc per size and its finite-size extrapolation,
   error vs Onsager's 2/ln(1 + sqrt 2), reported uncertainty, whether it covers
   the error, and the fit's wall time; the Bayes-optimal indicators beside them (including the
   supervised-at-extremes one, whose L -> infinity limit from Onsager's energy is printed: the
   method's own limit, which is not Tc).
2. FisherMetric at L = 32 against the exact ``Var(E_total) / T^4`` of the same
   samples: correlation and peak position (the scan for this check has 1000
   samples per point, so that the exact estimate itself is not noise-limited).
3. Blume-Capel (T, D) grids at L = 16, 32 and 64 (16 only in --quick; T in [0.8, 2.2] in steps of 0.025):
   PredictionDivergence (each line read from the posterior conditioned on it, ``read="line"``; the 2-D
   field reading for contrast) and Confusion along T at D = 0, 0.5, 1.0, 1.5 vs the literature line
   Tc(D), per size and extrapolated; beside them
   the Bayes-optimal indicators of the same samples (at fixed D the total energy is sufficient for T,
   so no posterior-based detector can do better on these samples) and the Binder crossing of the
   order parameter along each D line (L = 16, 32, 64).
4. TASEP (alpha, beta) grid (L = 100): PredictionDivergence on each line of the exact
   diagram, the peak reading on the first-order line alpha = beta < 1/2 and the
   step-edge reading on the continuous lines alpha = 1/2 and beta = 1/2.
5. The optimal indicators at L = 32 over 20 independent Ising scans (5 in --quick): the
   mean and spread of what the best possible model reads from one 300-sample scan.
6. The optimal indicators on one scan per size with 5000 / 20000 / 4000 samples per point at L = 16 / 32 / 64
   (2000 at L = 16 in --quick): each indicator's own pseudo-critical point on the grid (what a perfect model
   of p(T | x) reads at that size once the noise is gone), and the span where the divergence's flat peak is
   within 1% of its top.

7. XY scans at L = 16, 32, 64 (25 temperatures in [0.7, 1.3], 200 samples; L = 16 only in --quick): the
   Topology detector's T_BKT from the vortex cloud beside the helicity-modulus jump, with the time per
   configuration of the homology.

8. The RBM detector on Ising L = 3 and 4 (exact KL divergences) and L = 8 (held-out cross-entropies; four
   training sets and 100 test samples) (11 temperatures in [1.5, 4.0], 500 samples: training sets of
   100; L = 3 only in --quick) and on TASEP L = 10 along alpha at beta = 0.75: generalisation, model and
   data errors per number of hidden units, the optimal number per point, and the data error's peak
   against the exact specific-heat peak of the same lattice (enumeration) and against Onsager's Tc.

9. SnakeNet: Blume-Capel (T, D) at L = 32 (T in [0.8, 2.2] in steps of 0.05, D = 0 ... 1.5 in steps of 0.25,
   100 samples; L = 12, steps of 0.1 and the observables learner only in --quick) from three starting
   lines, with the network on configurations and the logistic learner on (magnetization, energy), against
   the literature line; TASEP L = 50 on a 10 x 10 (alpha, beta) grid with two snakes from three starts and
   the triple point where they part; the Hopfield network (N = 200, 8 x 9 (alpha, T) grid) with two snakes
   on the overlap and q against T_g = 1 + sqrt(alpha) and the AGS retrieval line.

Prints tables and writes ``benchmarks/results/bench_detectors.json``.

Usage: python benchmarks/bench_detectors.py [--quick] [--sizes 16,32,64] [--samples 300]
[--ising-only | --blume-capel-only | --noise-free-only | --xy-only | --rbm-only | --snake-only] [--detectors fisher_metric,optimal]
(``--ising-only --sizes 32 --samples 1000``: part 1 alone, at the demo's sample count; ``--detectors``: part 1 with
only those detectors, e.g. to rerun one row after a change, its file named after them; ``--blume-capel-only``:
part 3 alone, written to ``bench_detectors_blume_capel.json``; ``--noise-free-only``: part 6 alone, written to
``bench_detectors_noise_free.json``; ``--xy-only``: part 7 alone, ``bench_detectors_xy.json``; ``--rbm-only``: part 8 alone,
``bench_detectors_rbm.json``; ``--snake-only``: part 9 alone, ``bench_detectors_snake.json``)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

import phasemapper as pm
from phasemapper.detectors import (
    PCA, RBM, Confusion, FisherMetric, HelicityJump, Learnability, Observables, OptimalIndicators,
    PredictionDivergence, SnakeNet, SupervisedExtremes, Topology,
)
from phasemapper.models import all_states, ising_distribution
from phasemapper.systems import ONSAGER_TC, TASEP, XY_T_BKT, BlumeCapel2D, Hopfield, Ising2D, XY2D
from phasemapper.systems._hopfield import ags_retrieval_temperature
from _provenance import run_provenance  # benchmarks/_provenance.py

DETECTORS = {
    "confusion": Confusion,
    "supervised_extremes": SupervisedExtremes,
    "pca": PCA,
    "prediction_divergence": PredictionDivergence,
    "fisher_metric": FisherMetric,
    "learnability": Learnability,
    "optimal": OptimalIndicators,
    "topology": Topology,
}


def ising_scans(sizes, samples: int, seed: int = 1) -> dict[int, object]:
    T = np.linspace(1.8, 2.8, 41)
    return {L: pm.scan(Ising2D(L=L), {"T": T}, samples, seed=seed, progress=False) for L in sizes}


def ising_table(scans) -> list[dict]:
    """Fit each detector once on all sizes; per-size estimates with that size's fit time, then the extrapolation
    (the Topology detector's curves drawn to docs/images/detectors/topology_ising.png)."""
    rows = []
    for name, cls in DETECTORS.items():
        t = time.perf_counter()
        det = cls(seed=0).fit(scans)
        if name == "topology":
            topology_figure(det, ["h1_excess_majority", "betti_b1_majority", "null_b1_majority"], ONSAGER_TC,
                            "topology_ising.png")
        total = time.perf_counter() - t
        seconds = getattr(det, "fit_seconds_", {})
        for cp in det.critical_points_:
            L = next((int(m) for m in cp.method.split("L=")[1:2] if m.isdigit()), None) if "L=" in cp.method else None
            err = cp.value - ONSAGER_TC
            rows.append({
                "detector": name, "L": L if L is not None else "all", "method": cp.method, "Tc": cp.value,
                "uncertainty": cp.uncertainty, "relative_error": err / ONSAGER_TC,
                "covers": bool(abs(err) <= cp.uncertainty), "within_2_sigma": bool(abs(err) <= 2 * cp.uncertainty),
                "seconds": seconds.get(L, total),
                "seconds_per_configuration": getattr(det, "seconds_per_configuration_", {}).get(L),
            })
        print(f"  {name:<22} {total:7.1f} s " + " ".join(f"L={k}: {v:.1f} s" for k, v in seconds.items()), flush=True)
    return rows


def xy_check(samples: int, quick: bool) -> list[dict]:
    """Part 7: T_BKT of the XY model from vortex topology (Topology) beside the helicity-modulus jump, same scans."""
    sizes = (16,) if quick else (16, 32, 64)
    T = np.linspace(0.7, 1.3, 13 if quick else 25)
    scans = {L: pm.scan(XY2D(L=L), {"T": T}, samples, seed=7, progress=False) for L in sizes}
    rows = []
    for name, det in (("topology", Topology(seed=0)), ("helicity", HelicityJump(seed=0))):
        t = time.perf_counter()
        det.fit(scans)
        total = time.perf_counter() - t
        if name == "topology":
            topology_figure(det, ["vortex_clusters", "null_vortex_clusters", "vortex_density"], XY_T_BKT,
                            "topology_xy.png")
        for cp in det.critical_points_:
            L = int(cp.method.split("L=")[1]) if "L=" in cp.method else None
            rows.append({
                "detector": name, "L": L if L is not None else "all", "method": cp.method, "T_BKT": cp.value,
                "uncertainty": cp.uncertainty, "relative_error": cp.value / XY_T_BKT - 1,
                "within_2_sigma": bool(abs(cp.value - XY_T_BKT) <= 2 * cp.uncertainty), "fit_seconds": total,
                "seconds_per_configuration": getattr(det, "seconds_per_configuration_", {}).get(L),
            })
    return rows


def save_figure(fig, filename: str) -> None:
    """Write a benchmark figure for the docs: docs/images/detectors/FILENAME."""
    out = Path(__file__).resolve().parents[1] / "docs" / "images" / "detectors" / filename
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"  wrote {out}")


def topology_figure(det, names: list[str], exact: float, filename: str) -> None:
    """The Topology detector's curves ``names`` per size, one panel each, the reference as a dashed line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(names), 3.4), layout="constrained")
    for ax, name in zip(fig.subplots(1, len(names)), names):
        curve = det.curves_[name]
        for L in curve["L"].values:
            ax.plot(curve[det.axis].values, curve.sel(L=L).values, marker=".", label=f"L = {L}")
        ax.axvline(exact, color="k", linestyle="--", linewidth=1)
        ax.set(xlabel=det.axis, title=name)
    fig.axes[0].legend()
    save_figure(fig, filename)


def xy_part(results: dict, quick: bool) -> None:
    """Part 7: run :func:`xy_check`, print its rows and store them in ``results``."""
    xy = xy_check(100 if quick else 200, quick)
    print(f"\nXY model, T_BKT = {XY_T_BKT} (Hasenbusch 2005):")
    for r in xy:
        per = f", {1e3 * r['seconds_per_configuration']:.1f} ms/configuration" if r["seconds_per_configuration"] else ""
        print(f"  {r['detector']:<10} {r['method']:<44} {r['T_BKT']:.4f} +- {r['uncertainty']:.4f} "
              f"({100 * r['relative_error']:+.2f}%) fit {r['fit_seconds']:.1f} s{per}")
    results["xy"] = xy


def specific_heat_peak(L: int) -> float:
    """The temperature of the exact specific-heat maximum of the L x L Ising model (enumeration, 0.001 grid)."""
    s = 2 * all_states(L * L).reshape(-1, L, L) - 1
    energy = -(s * np.roll(s, 1, 1) + s * np.roll(s, 1, 2)).sum(axis=(1, 2))
    T = np.arange(1.5, 4.0, 0.001)
    heat = [(p := ising_distribution(L, t)) @ energy**2 - (p @ energy) ** 2 for t in T] / T**2
    return float(T[np.argmax(heat)])


def rbm_check(quick: bool) -> dict:
    """Part 8: the RBM detector's error trade-off on Ising (L = 3, 4; 3 only in --quick) and on a TASEP line."""
    T = np.linspace(1.5, 4.0, 11)
    out: dict = {"ising": [], "tasep": []}
    for L in (3,) if quick else (3, 4, 8):
        scan = pm.scan(Ising2D(L=L), {"T": T}, 500, seed=8, progress=False)
        t = time.perf_counter()
        det = RBM(seed=0, n_repeats=5 if L <= 4 else 4).fit(scan)  # L = 8: 100 held-out samples per point
        seconds = time.perf_counter() - t
        cp = det.critical_point(size=L)
        peak = specific_heat_peak(L) if L <= 4 else None
        errors = det.errors_.sel(L=L)
        out["ising"].append({
            "L": L, "mode": det.mode_[L], "T": T.tolist(), "hidden": errors["hidden"].values.tolist(),
            "generalisation": errors["generalisation"].mean("repeat").values.tolist(),
            "model": errors["model"].values.tolist(), "data": errors["data"].values.tolist(),
            "optimal_hidden": det.optimal_hidden_.sel(L=L).values.tolist(),
            "estimate": cp.value, "uncertainty": cp.uncertainty, "relative_error_vs_onsager": cp.value / ONSAGER_TC - 1,
            "specific_heat_peak": peak, "relative_error_vs_specific_heat_peak": cp.value / peak - 1 if peak else None,
            "fit_seconds": seconds,
        })
        if L == 4 or quick:
            rbm_figure(det, L)
    alpha = np.linspace(0.1, 0.9, 9)
    scan = pm.scan(TASEP(L=10), {"alpha": alpha, "beta": np.full(alpha.size, 0.75)}, 500, seed=8, progress=False)
    t = time.perf_counter()
    det = RBM(axis="alpha", seed=0).fit(scan)
    seconds = time.perf_counter() - t
    cp = det.critical_point(size=10)
    errors = det.errors_.sel(L=10)
    out["tasep"].append({
        "L": 10, "beta": 0.75, "alpha": alpha.tolist(), "hidden": errors["hidden"].values.tolist(),
        "generalisation": errors["generalisation"].mean("repeat").values.tolist(),
        "model": errors["model"].values.tolist(), "data": errors["data"].values.tolist(),
        "optimal_hidden": det.optimal_hidden_.sel(L=10).values.tolist(),
        "estimate": cp.value, "uncertainty": cp.uncertainty, "reference": 0.5, "error": cp.value - 0.5,
        "fit_seconds": seconds,
    })
    return out


def rbm_figure(det, L: int) -> None:
    """Generalisation error against hidden units per temperature, and the data error and optimum along T."""
    from matplotlib.figure import Figure

    errors = det.errors_.sel(L=L)
    fig = Figure(figsize=(12.6, 3.4), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for T in errors["T"].values[::2]:
        ax1.plot(errors["hidden"], errors["generalisation"].sel(T=T).mean("repeat"), marker="o", label=f"T = {T:.2f}")
        ax1.plot(errors["hidden"], errors["model"].sel(T=T), linestyle=":", color=ax1.lines[-1].get_color())
    ax1.set(xscale="log", xlabel="hidden units", ylabel="KL (nats)", title="generalisation (solid), model (dotted)")
    ax1.legend(fontsize=7)
    for name, ax in (("data_error", ax2), ("optimal_hidden", ax3)):
        ax.plot(errors["T"], det.curves_[name].sel(L=L), marker="o")
        ax.axvline(ONSAGER_TC, color="k", linestyle="--", linewidth=1)
        ax.set(xlabel="T", title=f"{name} (L = {L})")
    save_figure(fig, "rbm_ising.png")


def rbm_part(results: dict, quick: bool) -> None:
    """Part 8: run :func:`rbm_check`, print it and store it in ``results``."""
    rbm = rbm_check(quick)
    for r in rbm["ising"]:
        what = "KL in nats" if r["mode"] == "exact" else "held-out cross-entropies in nats"
        print(f"\nRBM on Ising L={r['L']} ({r['mode']}: 500 samples, training sets of 100; {what}; "
              f"fit {r['fit_seconds']:.0f} s):")
        print("  T      " + " ".join(f"GE(h={h})" for h in r["hidden"]) + "  optimal  data error")
        for i, T in enumerate(r["T"]):
            k = r["hidden"].index(r["optimal_hidden"][i])
            print(f"  {T:5.2f} " + " ".join(f"{g:8.3f}" for g in r["generalisation"][i])
                  + f"  {r['optimal_hidden'][i]:7d}  {r['data'][i][k]:.3f}")
        peak = (f"exact specific-heat peak {r['specific_heat_peak']:.3f} "
                f"({100 * r['relative_error_vs_specific_heat_peak']:+.1f}%), " if r["mode"] == "exact" else "")
        print(f"  data-error peak T = {r['estimate']:.3f} +- {r['uncertainty']:.3f}; {peak}"
              f"Onsager {ONSAGER_TC:.3f} ({100 * r['relative_error_vs_onsager']:+.1f}%)")
    for r in rbm["tasep"]:
        print(f"\nRBM on TASEP L={r['L']}, beta={r['beta']}: optimal hidden along alpha {r['optimal_hidden']}; "
              f"data-error peak alpha = {r['estimate']:.3f} +- {r['uncertainty']:.3f} (LD-MC at 0.5; fit {r['fit_seconds']:.0f} s)")
    results["rbm"] = rbm


def snake_check(quick: bool) -> dict:
    """Part 9: SnakeNet on Blume-Capel (T, D) from three starts, on TASEP (two snakes, the triple point) and on
    the Hopfield network (two snakes on the overlap and Edwards-Anderson observables)."""
    out: dict = {}
    L = 12 if quick else 32
    T, D = np.arange(0.8, 2.2001, 0.1 if quick else 0.05), np.arange(0.0, 1.5001, 0.25)
    TT, DD = [v.ravel() for v in np.meshgrid(T, D)]
    scan = pm.scan(BlumeCapel2D(L=L), {"T": TT, "D": DD}, 100, seed=9, progress=False)
    system = BlumeCapel2D(L=L)
    starts = {"middle": None, "T=1.0": [[[1.0, 0.0], [1.0, 1.5]]], "T=2.1": [[[2.1, 0.0], [2.1, 1.5]]]}
    learners = {"observables": ["magnetization", "energy"]} if quick else {"configuration": "configuration",
                                                                               "observables": ["magnetization", "energy"]}
    bc = []
    for learner, features in learners.items():
        for name, start in starts.items():
            t = time.perf_counter()
            det = SnakeNet(features=features, initial=start, seed=0).fit(scan)
            seconds = time.perf_counter() - t
            for cp in det.critical_points_:
                ref = float(system.critical_temperature(cp.at["D"]))
                bc.append({"learner": learner, "start": name, "L": L, "D": cp.at["D"], "Tc": cp.value,
                           "band": cp.uncertainty, "reference": ref, "relative_error": cp.value / ref - 1,
                           "fit_seconds": seconds})
            if learner == "configuration" and name == "middle" or quick and name == "middle":
                snake_figure(det, "snake_blume_capel.png", [(system.critical_temperature(d), d) for d in
                                                            np.linspace(0, 1.5, 31)])
    out["blume_capel"] = bc
    g = np.linspace(0.05, 0.95, 6 if quick else 10)
    A, B = [v.ravel() for v in np.meshgrid(g, g)]
    scan = pm.scan(TASEP(L=20 if quick else 50), {"alpha": A, "beta": B}, 40 if quick else 100, seed=9, progress=False)
    tasep = []
    tasep_starts = {"diagonal": (0.5, 0.5), "steep": (0.3, 0.3), "shallow": (0.75, 0.75)}
    for name, ends in list(tasep_starts.items())[: 1 if quick else 3]:
        start = [[[0.05, 0.05], [ends[0], 0.95]], [[0.05, 0.05], [0.95, ends[1]]]]
        t = time.perf_counter()
        det = SnakeNet(n_snakes=2, initial=start, seed=0, max_epochs=5 if quick else 25).fit(scan)
        seconds = time.perf_counter() - t
        triple = triple_point(det)
        tasep.append({"start": name, "L": int(scan.attrs["size"]), "snakes": [b.tolist() for b in det.boundaries_], "triple_point": triple.tolist(),
                      "triple_point_error": float(np.linalg.norm(triple - 0.5)), "fit_seconds": seconds})
        if name == "diagonal":
            snake_figure(det, "snake_tasep.png", None)
    out["tasep"] = tasep
    alpha, T = np.linspace(0.02, 0.3, 5 if quick else 8), np.linspace(0.1, 1.7, 5 if quick else 9)
    AA, TT = [v.ravel() for v in np.meshgrid(alpha, T)]
    scan = pm.scan(Hopfield(N=100 if quick else 200), {"alpha": AA, "T": TT}, 30 if quick else 60, seed=9, progress=False)
    start = [[[0.6, 0.02], [0.6, 0.3]], [[0.3, 0.02], [0.1, 0.2]]]
    t = time.perf_counter()
    det = SnakeNet(axis="T", n_snakes=2, features=["overlap", "q"], initial=start, seed=0).fit(scan)
    seconds = time.perf_counter() - t
    hop = []
    for cp in det.critical_points_:
        a = cp.at["alpha"]
        ref = 1 + np.sqrt(a) if cp.method == "snake 0" else float(ags_retrieval_temperature(a))
        line = "spin glass (T_g = 1 + sqrt alpha)" if cp.method == "snake 0" else "retrieval (T_M, AGS)"
        hop.append({"snake": cp.method, "line": line, "N": int(scan.attrs["size"]), "alpha": a, "T": cp.value, "band": cp.uncertainty,
                    "reference": ref, "error": cp.value - ref, "fit_seconds": seconds})
    snake_figure(det, "snake_hopfield.png", None)
    out["hopfield"] = hop
    return out


def triple_point(det, resolution: int = 201) -> np.ndarray:
    """Where the regions of two snakes meet. On a fine lattice of the grid's square each point gets the
    sides of both snakes; slivers narrower than four guess widths (where two snakes run side by side
    along one boundary) are removed by a morphological opening; the triple point is the point whose
    largest distance to the three largest remaining regions is smallest."""
    import torch
    from scipy import ndimage

    from phasemapper.detectors._snake import signed_distance

    axes = [det.proba_[d].values for d in det.proba_.dims[:2]]
    low, high = np.array([a.min() for a in axes]), np.array([a.max() for a in axes])
    u = np.linspace(0, 1, resolution)
    square = np.column_stack([g.ravel() for g in np.meshgrid(u, u, indexing="ij")])
    sides = [(signed_distance(torch.as_tensor(square), torch.as_tensor((b - low) / (high - low))) > 0).numpy()
             for b in det.boundaries_]
    code = (2 * sides[0] + sides[1]).reshape(resolution, resolution)
    radius = int(round(2 * det.width * (resolution - 1)))
    disk = np.hypot(*np.mgrid[-radius:radius + 1, -radius:radius + 1]) <= radius
    regions = [ndimage.binary_opening(code == c, structure=disk) for c in range(4)]
    largest = np.argsort([r.sum() for r in regions])[::-1][:3]
    far = np.max([ndimage.distance_transform_edt(~regions[c]) for c in largest], axis=0)
    i, j = np.unravel_index(np.argmin(far), far.shape)
    return low + (high - low) * np.array([u[i], u[j]])


def snake_figure(det, filename: str, reference) -> None:
    """The learner's probabilities (first snake) with every snake's boundary, band and starting line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 4.2), layout="constrained")
    ax = fig.subplots()
    proba = det.proba_.isel(snake=0)
    x, y = proba.dims
    ax.pcolormesh(proba[x].values, proba[y].values, proba.values.T, cmap="RdBu_r", vmin=0, vmax=1, shading="nearest")
    for k, (line, band) in enumerate(zip(det.boundaries_, det.bands_)):
        ax.plot(*det.history_[0, 0, k].T, color="0.5", linestyle=":", label="start" if k == 0 else None)
        ax.errorbar(line[:, 0], line[:, 1], xerr=band[:, 0], yerr=band[:, 1], color="k", marker="o", markersize=3,
                    label="snakes" if k == 0 else None)
    if reference is not None:
        ref = np.array(reference, dtype=float)
        ax.plot(ref[:, 0], ref[:, 1], color="gold", linewidth=2, label="literature")
    ax.set(xlabel=x, ylabel=y, title=f"SnakeNet: {filename.removeprefix('snake_').removesuffix('.png')}")
    ax.legend(fontsize=7)
    save_figure(fig, filename)


def snake_part(results: dict, quick: bool) -> None:
    """Part 9: run :func:`snake_check`, print it and store it in ``results``."""
    snake = snake_check(quick)
    print("\nSnakeNet on Blume-Capel (T at fixed D vs the literature line):")
    for r in snake["blume_capel"]:
        print(f"  {r['learner']:<13} start {r['start']:<7} D={r['D']:.2f} Tc={r['Tc']:.4f} +- {r['band']:.4f} "
              f"ref {r['reference']:.4f} ({100 * r['relative_error']:+.2f}%) fit {r['fit_seconds']:.0f} s")
    print(f"SnakeNet on TASEP L={snake['tasep'][0]['L']} (two snakes from the corner; triple point (0.5, 0.5)):")
    for r in snake["tasep"]:
        print(f"  start {r['start']:<9} triple point ({r['triple_point'][0]:.3f}, {r['triple_point'][1]:.3f}), "
              f"off by {r['triple_point_error']:.3f}; fit {r['fit_seconds']:.0f} s")
    print(f"SnakeNet on Hopfield N={snake['hopfield'][0]['N']} (overlap and q):")
    for r in snake["hopfield"]:
        print(f"  {r['line']:<34} alpha={r['alpha']:.3f} T={r['T']:.3f} +- {r['band']:.3f} ref {r['reference']:.3f} "
              f"(error {r['error']:+.3f})")
    results["snake"] = snake


def supervised_limit(scans) -> dict:
    """The thermodynamic limit of the Bayes-optimal supervised-at-extremes crossing on these scans' grid:
    where Onsager's energy equals its mean over beta between the two inner training temperatures."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from exact_ising import secant_temperature

    from phasemapper.detectors._indicators import extremes_count

    fraction = OptimalIndicators().fraction
    T = next(iter(scans.values()))["T"].values
    n_end = extremes_count(T.size, fraction)
    value = secant_temperature(T[n_end - 1], T[-n_end])
    return {"fraction": fraction, "T_low": float(T[n_end - 1]), "T_high": float(T[-n_end]), "T": value,
            "relative_error": value / ONSAGER_TC - 1}


def fisher_check(samples: int) -> dict:
    scan = ising_scans([32], samples, seed=2)[32]
    t = time.perf_counter()
    det = FisherMetric(seed=0).fit(scan)
    seconds = time.perf_counter() - t
    g = det.indicator_.sel(L=32).values
    T = scan["T"].values
    E = scan["energy"].values * 32 * 32
    exact = E.var(axis=1, ddof=1) / T**4
    from phasemapper.detectors._indicators import interior_peak

    peak_exact, peak_fit = interior_peak(T, exact), interior_peak(T, g)
    return {"samples": samples, "correlation": float(np.corrcoef(g, exact)[0, 1]), "peak_fit": peak_fit,
            "peak_exact": peak_exact, "peak_relative_difference": (peak_fit - peak_exact) / peak_exact,
            "geodesic_length": det.geodesic_distance(T[0], T[-1]), "seconds": seconds}


def optimal_seed_spread(n_seeds: int, samples: int = 300, L: int = 32) -> dict:
    """The optimal indicators' readings at L = 32 over ``n_seeds`` independent scans (seeds 100, 101, ...).

    They are the best any model of ``p(T | x)`` can read from a scan, so their mean is the finite-size
    pseudo-critical point of each indicator and their spread the noise a single 300-sample scan carries:
    what "within 1% at L = 32" can mean for a learned detector on one scan.
    """
    readings: dict[str, list[float]] = {}
    for seed in range(100, 100 + n_seeds):
        scan = ising_scans([L], samples, seed=seed)
        for cp in OptimalIndicators(seed=0, n_bootstrap=50).fit(scan).critical_points_:
            readings.setdefault(cp.method.split()[0], []).append(cp.value / ONSAGER_TC - 1)
    return {name: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)), "share_within_1pct": float(np.mean(np.abs(v) < 0.01)),
                   "n_scans": len(v)} for name, v in readings.items()}


def optimal_noise_free(sizes_samples: dict[int, int], seed: int = 7) -> dict:
    """The optimal indicators' pseudo-critical points with many samples per point (one scan per size).

    With 5000-20000 samples per point the readings' noise is far below the grid step, so each is the
    indicator's own finite-size pseudo-critical point on the benchmark's 41-temperature grid: what a
    perfect model of ``p(T | x)`` reads at that size once the noise is gone. ``plateau`` is the span of
    grid temperatures where the optimal prediction divergence is within 1% of its maximum: how flat its
    peak is.
    """
    out = {}
    for L, samples in sizes_samples.items():
        scan = ising_scans([L], samples, seed=seed)
        det = OptimalIndicators(seed=0, n_bootstrap=20).fit(scan)
        divergence = det.curves_["prediction_divergence"].sel(L=L)
        top = divergence["T"].values[divergence.values >= 0.99 * float(divergence.max())]
        out[L] = {"samples": samples, "plateau": [float(top.min()), float(top.max())], "readings": {
            cp.method.split()[0]: {"Tc": cp.value, "uncertainty": cp.uncertainty, "relative_error": cp.value / ONSAGER_TC - 1}
            for cp in det.critical_points_ if cp.method.endswith(f"L={L}")}}
    return out


def blume_capel_temperatures(quick: bool) -> np.ndarray:
    """The T axis of the Blume-Capel grid. Steps of 0.025 in full mode: at 0.05 (29 points) a step is 3-4% of
    Tc(D), and the optimal confusion at L = 64 missed by 2-9%, one or two steps; at 0.025 it is within 2.7%
    on two scans (seeds 3 and 4)."""
    return np.linspace(0.8, 2.2, 15 if quick else 57)


def blume_capel_check(samples: int, quick: bool) -> list[dict]:
    system = BlumeCapel2D(L=16)
    D = np.array([0.0, 0.5, 1.0, 1.5])
    T = blume_capel_temperatures(quick)
    TT, DD = np.meshgrid(T, D, indexing="ij")
    # L = 64 too: the readings at D >= 1 still move by 1-2% from L = 32 to 64 (the learned detectors take
    # 12-17 minutes each over the three sizes, most of it at 64; the part about 50 minutes on 2 cores)
    sizes = (16,) if quick else (16, 32, 64)
    scan = {L: pm.scan(BlumeCapel2D(L=L), {"T": TT.ravel(), "D": DD.ravel()}, samples, seed=3, progress=False)
            for L in sizes}
    rows = []

    def add(name: str, critical_points: list, seconds: float, D_value: float | None = None) -> None:
        for cp in critical_points:
            D_cp = (cp.at or {}).get("D", D_value)
            ref = float(system.critical_temperature(D_cp))
            rows.append({"detector": name, "method": cp.method, "D": D_cp, "Tc": cp.value, "uncertainty": cp.uncertainty,
                         "reference": ref, "relative_error": (cp.value - ref) / ref, "seconds": seconds})

    # "run along T at fixed D" (the issue): each line read from the posterior conditioned on it, as
    # Confusion does; PredictionDivergence's default 2-D field is read below for contrast
    for name, det in (("prediction_divergence", PredictionDivergence(axis="T", seed=0, read="line")),
                      ("confusion", Confusion(axis="T", seed=0)),
                      ("prediction_divergence_field", PredictionDivergence(axis="T", seed=0, read="field"))):
        t = time.perf_counter()
        det.fit(scan)
        add(name, det.critical_points_, time.perf_counter() - t)
    # the best any posterior-based reading can do on these samples: at fixed D the total energy
    # (exchange + D * sum s^2) is sufficient for T, so the optimal indicators bound Confusion and PD
    t = time.perf_counter()
    add("optimal", OptimalIndicators(axis="T", seed=0).fit(scan).critical_points_, time.perf_counter() - t)
    # the order parameter's Binder crossing along each D line, for contrast (needs two sizes)
    if len(scan) > 1:
        for D_value in D:
            line = {L: ds.isel(point=np.flatnonzero(ds["D"].values == D_value)) for L, ds in scan.items()}
            t = time.perf_counter()
            obs = Observables(axis="T", seed=0).fit(line)
            add("observables", [cp for cp in obs.critical_points_ if cp.method == "binder_crossing"],
                time.perf_counter() - t, float(D_value))
    return rows


def tasep_check(samples: int, quick: bool) -> list[dict]:
    """PredictionDivergence on the open-TASEP grid, each line of the exact diagram with its reading.

    The LD/HD coexistence line alpha = beta < 1/2 is first order: the divergence peaks on it
    (``locate="peak"``, scanning along alpha at fixed beta < 1/2). The lines alpha = 1/2 (beta > 1/2)
    and beta = 1/2 (alpha > 1/2) are continuous transitions into the maximal-current phase, whose
    samples barely depend on the rates: the divergence steps down there (``locate="drop"``, along
    alpha at fixed beta >= 1/2 and along beta at fixed alpha >= 1/2). Lines whose reference lies
    within two grid steps of the grid's edge are flagged ``edge`` (no interior reading possible);
    the lines through the corner alpha = beta = 1/2, where the three phases meet, ``corner``.
    Exact diagram: Derrida, Evans, Hakim & Pasquier, J. Phys. A 26, 1493 (1993).
    """
    a = np.linspace(0.1, 0.9, 9) if quick else np.linspace(0.05, 0.95, 19)
    AA, BB = np.meshgrid(a, a, indexing="ij")
    scan = pm.scan(TASEP(L=100), {"alpha": AA.ravel(), "beta": BB.ravel()}, samples, seed=4, progress=False)
    readings = [  # (line, axis, locate, which lines of the other axis)
        ("alpha = beta < 1/2", "alpha", "peak", lambda other: other < 0.5 - 1e-9),
        ("alpha = 1/2, beta >= 1/2", "alpha", "drop", lambda other: other >= 0.5 - 1e-9),
        ("beta = 1/2, alpha >= 1/2", "beta", "drop", lambda other: other >= 0.5 - 1e-9),
    ]
    step = float(a[1] - a[0])
    rows = []
    for line, axis, locate, keep in readings:
        other = "beta" if axis == "alpha" else "alpha"
        t = time.perf_counter()
        det = PredictionDivergence(axis=axis, locate=locate, seed=0).fit(scan)
        seconds = time.perf_counter() - t
        for cp in det.critical_points_:
            at = cp.at[other]
            if not keep(at):
                continue
            ref = min(at, 0.5)
            rows.append({"line": line, "axis": axis, "locate": locate, other: at, "at": at, "estimate": cp.value,
                         "uncertainty": cp.uncertainty, "reference": ref, "error": cp.value - ref,
                         "edge": bool(ref - a[0] < 2 * step - 1e-9), "corner": bool(abs(at - 0.5) < 1e-9),
                         "seconds": seconds})
    return rows


def main() -> None:
    global DETECTORS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 16 only, optimal/PCA/confusion, small grids (~1 minute)")
    parser.add_argument("--sizes", default="16,32,64", help="Ising sizes of the full run (comma-separated)")
    parser.add_argument("--samples", type=int, default=300, help="samples per point of the Ising scans (part 1)")
    parser.add_argument("--ising-only", action="store_true",
                        help="part 1 only; writes bench_detectors_ising_L<sizes>_<samples>.json")
    parser.add_argument("--blume-capel-only", action="store_true",
                        help="part 3 only; writes bench_detectors_blume_capel.json")
    parser.add_argument("--xy-only", action="store_true", help="part 7 only; writes bench_detectors_xy.json")
    parser.add_argument("--rbm-only", action="store_true", help="part 8 only; writes bench_detectors_rbm.json")
    parser.add_argument("--snake-only", action="store_true", help="part 9 only; writes bench_detectors_snake.json")
    parser.add_argument("--noise-free-only", action="store_true",
                        help="part 6 only; writes bench_detectors_noise_free.json")
    parser.add_argument("--detectors", default=None,
                        help=f"part 1's detectors, comma-separated (default all: {','.join(DETECTORS)})")
    args = parser.parse_args()
    single = [flag for flag in SINGLE_PARTS if getattr(args, flag)]
    if len(single) + args.ising_only > 1:
        parser.error("the --*-only options exclude each other")
    if args.samples < 20:
        parser.error(f"--samples must be >= 20, got {args.samples}")
    if args.detectors is not None:
        chosen = [v.strip() for v in args.detectors.split(",") if v.strip()]
        unknown = sorted(set(chosen) - set(DETECTORS))
        if unknown or not chosen:
            parser.error(f"--detectors: unknown {unknown or 'empty list'}; choose from {','.join(DETECTORS)}")
        DETECTORS = {k: DETECTORS[k] for k in chosen}
    elif args.quick:
        DETECTORS = {k: DETECTORS[k] for k in ("optimal", "pca", "confusion")}
    results = {"quick": args.quick, "cpu_count": os.cpu_count(), "exact_Tc": ONSAGER_TC, "samples": args.samples}
    if single:  # one part alone, written to its own file
        part, filename = SINGLE_PARTS[single[0]]
        part(results, args.quick)
        write_results(results, filename)
        return
    sizes = [16] if args.quick else [int(v) for v in args.sizes.split(",")]
    print(f"Ising scans {sizes}, 41 T x {args.samples} samples ({os.cpu_count()} cores)", flush=True)
    scans = ising_scans(sizes, args.samples)
    ising = ising_table(scans)
    print(f"\n{'detector':<22} {'L':>4} {'method':<48} {'Tc':>8} {'+-':>7} {'error':>8} {'covers':>6} {'s':>6}")
    for r in ising:
        print(f"{r['detector']:<22} {r['L']!s:>4} {r['method']:<48} {r['Tc']:8.4f} {r['uncertainty']:7.4f} "
              f"{100 * r['relative_error']:+7.2f}% {'yes' if r['covers'] else 'no':>6} {r['seconds']:6.1f}")
    limit = supervised_limit(scans)
    print(f"\nSupervised at the extremes (fraction {limit['fraction']}): the Bayes-optimal crossing tends, as L grows, "
          f"to {limit['T']:.4f} ({100 * limit['relative_error']:+.2f}% from Tc; closed form from Onsager's energy)")
    results.update(ising=ising, supervised_optimal_limit=limit)
    if args.ising_only:
        name = f"bench_detectors_ising_L{'-'.join(map(str, sizes))}_{args.samples}"
        name += f"_{'-'.join(DETECTORS)}.json" if args.detectors is not None else ".json"
        write_results(results, name)
        return
    if not args.quick:
        fisher = fisher_check(1000)
        print(f"\nFisherMetric vs exact Var(E)/T^4 at L=32 (1000 samples): correlation {fisher['correlation']:.3f}, "
              f"peak {fisher['peak_fit']:.4f} vs {fisher['peak_exact']:.4f} ({100 * fisher['peak_relative_difference']:+.2f}%)")
        results["fisher_vs_exact"] = fisher
    blume_capel_part(results, args.quick)
    tasep = tasep_check(60 if args.quick else 200, args.quick)
    print("\nTASEP L=100, PredictionDivergence on each line of the exact diagram:")
    for r in tasep:
        other = "beta" if r["axis"] == "alpha" else "alpha"
        print(f"  {r['line']:<26} {other}={r['at']:.3f} ({r['locate']}) {r['axis']}_c={r['estimate']:.3f} "
              f"+- {r['uncertainty']:.3f} ref {r['reference']:.3f} (error {r['error']:+.3f})"
              f"{' edge' if r['edge'] else ''}{' corner' if r['corner'] else ''}")
    inner = [abs(r["error"]) for r in tasep if not (r["edge"] or r["corner"])]
    if inner:
        print(f"  largest |error| away from the grid's edge and the corner: {max(inner):.3f}")
    results["tasep"] = tasep
    n_seeds = 5 if args.quick else 20
    spread = optimal_seed_spread(n_seeds)
    print(f"\nOptimal indicators at L=32 over {n_seeds} independent scans (41 T x 300 samples):")
    for name, r in spread.items():
        print(f"  {name:<24} mean {100 * r['mean']:+.2f}%  sd {100 * r['sd']:.2f}%  within 1% in {100 * r['share_within_1pct']:.0f}% of scans")
    results["optimal_seed_spread_L32"] = spread
    noise_free_part(results, args.quick)
    xy_part(results, args.quick)
    rbm_part(results, args.quick)
    snake_part(results, args.quick)
    write_results(results, "bench_detectors.json")


def noise_free_part(results: dict, quick: bool) -> None:
    """Part 6: run :func:`optimal_noise_free`, print it and store it in ``results``."""
    noise_free = optimal_noise_free({16: 2000} if quick else {16: 5000, 32: 20000, 64: 4000})
    print("\nOptimal indicators with many samples per point (their own pseudo-critical points on this grid):")
    for L, r in noise_free.items():
        readings = "  ".join(f"{k} {100 * v['relative_error']:+.2f}%" for k, v in r["readings"].items())
        print(f"  L={L:<3} {r['samples']:>6} samples: {readings}; divergence within 1% of its peak "
              f"for T in [{r['plateau'][0]:.3f}, {r['plateau'][1]:.3f}]")
    results["optimal_noise_free"] = noise_free


def blume_capel_part(results: dict, quick: bool) -> None:
    """Part 3: run :func:`blume_capel_check`, print its rows and store them in ``results``."""
    bc = blume_capel_check(100 if quick else 300, quick)
    print("\nBlume-Capel, boundary along T at fixed D:")
    for r in bc:
        print(f"  {r['detector']:<22} {r['method']:<40} D={r['D']:.2f} Tc={r['Tc']:.4f} +- {r['uncertainty']:.4f} "
              f"ref {r['reference']:.4f} ({100 * r['relative_error']:+.2f}%)")
    results["blume_capel"] = bc
    results["blume_capel_T"] = blume_capel_temperatures(quick).tolist()


#: the parts that run alone (``--NAME-only``): the function that runs one, and the file it writes
SINGLE_PARTS = {
    "blume_capel_only": (blume_capel_part, "bench_detectors_blume_capel.json"),
    "noise_free_only": (noise_free_part, "bench_detectors_noise_free.json"),
    "xy_only": (xy_part, "bench_detectors_xy.json"),
    "rbm_only": (rbm_part, "bench_detectors_rbm.json"),
    "snake_only": (snake_part, "bench_detectors_snake.json"),
}


def write_results(results: dict, name: str) -> None:
    out = Path(__file__).parent / "results" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"provenance": run_provenance(), **results}, indent=2, default=float))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
