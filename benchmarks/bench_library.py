"""Materials libraries: phase regions of Fe-Ga-Pd from XRD, a retrospective autonomous run, priors, and the
joint phase-property model, all against the library's DFT regions and measured magnetisation.

- ``labeling``: SpectraLabeler on every sample against the DFT regions (Fowlkes-Mallows index FMI, adjusted
  Rand index ARI), beside the issue's baseline (cosine similarity of the raw patterns, spectral clustering,
  5 clusters) and the labeler without each of its parts;
- ``campaigns``: LibraryCampaign (batches of 8) with the boundary planner, CAMEO-style entropy sampling and a
  random order, 5 seeds each (2 in --quick): the FMI of the map after each batch, and the samples after which
  it reaches and keeps 90% of the all-samples FMI;
- ``priors``: the entropy planner with a correct region prior (the hull of one DFT region, certainty 0.8)
  and a wrong one (a polygon across two DFT regions, certainty 0.3), same seeds;
- ``property``: held-out magnetisation, 5-fold, PhaseProperty against one GP that ignores the regions: RMSE,
  MAE and the 95% interval's coverage, with the spread over folds;
- ``refit``: seconds of one batch's analysis (clustering and map over all samples) and of a PhaseProperty fit.

Writes benchmarks/results/bench_library.json (or bench_library_quick.json) and, in full mode, the figures
in docs/images/library/.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _provenance import run_provenance  # benchmarks/_provenance.py
from _tables import print_table  # benchmarks/_tables.py
from scipy.spatial import ConvexHull
from sklearn.cluster import SpectralClustering
from sklearn.metrics import adjusted_rand_score, fowlkes_mallows_score
from sklearn.model_selection import KFold

import phasemapper as pm
from phasemapper.datasets import fegapd
from phasemapper.labelers import SpectraLabeler
from phasemapper.maps import PhaseProperty
from phasemapper.systems import Library

ROOT = Path(__file__).resolve().parents[1]
SHARE = 0.9  # of the all-samples FMI


def scores(reference, labels):
    return {"fmi": round(float(fowlkes_mallows_score(reference, labels)), 4),
            "ari": round(float(adjusted_rand_score(reference, labels)), 4)}


def labeling(ds):
    dft = ds["dft_region"].values
    rows = []
    x = ds["xrd"].values / np.linalg.norm(ds["xrd"].values, axis=1, keepdims=True)
    plain = SpectralClustering(5, affinity="precomputed", random_state=0).fit_predict(np.clip(x @ x.T, 0, None))
    rows.append({"method": "baseline: cosine, spectral, 5 clusters", "regions": 5, **scores(dft, plain)})
    for name, params in (
        ("SpectraLabeler (defaults)", {}),
        ("  without strain tolerance (max_strain=0)", {"max_strain": 0.0}),
        ("  without composition neighbours", {"neighbours": False}),
        ("  without smoothing and background removal", {"smoothing": 0.0, "background": 0.0}),
        ("  with 4 regions", {"n_regions": 4}),
        ("  with 5 regions", {"n_regions": 5}),
    ):
        t0 = time.perf_counter()
        lab = SpectraLabeler(**params).fit(ds)
        rows.append({"method": name, "regions": int(lab.n_regions_), **scores(dft, lab.labels_),
                     "seconds": round(time.perf_counter() - t0, 2)})
    return rows


def samples_to_target(history, target):
    """Samples measured after which the FMI stays at or above ``target`` to the end of the run."""
    n, fmi = history["n_measured"].values, np.nan_to_num(history["fmi"].values)
    for i in range(len(n)):
        if np.all(fmi[i:] >= target):
            return int(n[i])
    return None


def campaign_runs(lib, planner, seeds, budget, target, priors=None):
    out = []
    for seed in seeds:
        t0 = time.perf_counter()
        result = pm.LibraryCampaign(lib, planner=planner, reference="dft_region", seed=seed,
                                    priors=priors).run(budget=budget)
        h = result.history
        out.append({"seed": seed, "samples_to_target": samples_to_target(h, target),
                    "n_measured": h["n_measured"].values.astype(int).tolist(),
                    "fmi": [round(float(v), 4) for v in np.nan_to_num(h["fmi"].values)],
                    "seconds": round(time.perf_counter() - t0, 1)})
    return out


def summarise(runs, n_samples):
    reached = [r["samples_to_target"] for r in runs]
    finite = [r for r in reached if r is not None]
    return {"per_seed": reached, "median": float(np.median(finite)) if len(finite) == len(reached) else None,
            "mean": round(float(np.mean(finite)), 1) if len(finite) == len(reached) else None,
            "median_share": round(float(np.median(finite)) / n_samples, 3) if len(finite) == len(reached) else None}


def hull(lib, mask):
    pts = lib.candidates[mask]
    return pts[ConvexHull(lib.space.to_unit(pts)).vertices]


def purity(lib, polygon, dft):
    from matplotlib.path import Path as Polygon

    inside = Polygon(lib.space.to_unit(polygon)).contains_points(lib.space.to_unit(lib.candidates))
    counts = np.bincount(dft[inside])
    return int(inside.sum()), round(float(counts.max() / counts.sum()), 3)


def property_cv(lib, ds, folds=5):
    x, y, tt = lib.candidates, ds["magnetization"].values.astype(float), ds["two_theta"].values
    out = {"joint": [], "plain": []}
    for train, test in KFold(folds, shuffle=True, random_state=0).split(x):
        lab = SpectraLabeler().fit(ds["xrd"].values[train], two_theta=tt, compositions=x[train])
        phases = [f"R{i + 1}" for i in range(lab.n_regions_)]
        for name, regions in (("joint", True), ("plain", False)):
            t0 = time.perf_counter()
            model = PhaseProperty(lib.space, phases, regions=regions).fit(x[train], lab.proba_, y[train])
            mean, _ = model.predict(x[test])
            iv = model.predict_interval(x[test])
            out[name].append({"rmse": float(np.sqrt(np.mean((mean - y[test]) ** 2))),
                              "mae": float(np.mean(np.abs(mean - y[test]))),
                              "coverage95": float(np.mean((iv[:, 0] < y[test]) & (y[test] < iv[:, 1]))),
                              "seconds": time.perf_counter() - t0})
    rows = []
    for name, folds_ in out.items():
        row = {"model": "PhaseProperty (regions)" if name == "joint" else "one GP, no regions"}
        for k in ("rmse", "mae", "coverage95", "seconds"):
            v = np.array([f[k] for f in folds_])
            row[k] = round(float(v.mean()), 3)
            row[k + "_sd"] = round(float(v.std(ddof=1)), 3)
        row["rmse_per_fold"] = [round(f["rmse"], 3) for f in folds_]
        rows.append(row)
    return rows


def refit_seconds(lib, ds):
    campaign = pm.LibraryCampaign(lib, reference="dft_region")
    campaign.measured = list(range(len(lib.candidates)))
    campaign._patterns = {i: ds["xrd"].values[i].astype(float) for i in campaign.measured}
    t0 = time.perf_counter()
    state = campaign._analyse()
    analyse = time.perf_counter() - t0
    t0 = time.perf_counter()
    PhaseProperty(lib.space, state["phases"]).fit(lib.candidates, state["measured_proba"],
                                                  ds["magnetization"].values)
    return [{"step": f"cluster {len(lib.candidates)} patterns and fit the map", "seconds": round(analyse, 2)},
            {"step": f"PhaseProperty fit on {len(lib.candidates)} samples", "seconds": round(time.perf_counter() - t0, 2)}]


def draw(ds, campaigns, target, figures):
    import mpltern  # noqa: F401
    from matplotlib.figure import Figure

    from phasemapper.plot import plot_ternary

    figures.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    for planner, runs in campaigns.items():
        n = np.array(runs[0]["n_measured"])
        f = np.array([r["fmi"] for r in runs])
        ax.plot(n, f.mean(axis=0), label=f"{planner} (mean of {len(runs)})")
        ax.fill_between(n, f.min(axis=0), f.max(axis=0), alpha=0.15)
    ax.axhline(target, color="k", ls=":", lw=1, label="90% of the all-samples FMI")
    ax.set_xlabel("samples measured")
    ax.set_ylabel("FMI against the DFT regions")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(figures / "fmi_per_batch.png", dpi=110)
    lab = SpectraLabeler().fit(ds)
    shown = ds[["composition"]].assign(dft_region=("sample", ds["dft_region"].values.astype(str)),
                                       label=("sample", np.array([f"R{k + 1}" for k in lab.labels_])))
    shown = shown.assign_coords(region=sorted(set(shown["label"].values)))
    fig = Figure(figsize=(11, 4.6))
    axes = [fig.add_subplot(1, 2, k + 1, projection="ternary") for k in range(2)]
    plot_ternary(shown, "label", ax=axes[0], measured=False)
    axes[0].set_title("SpectraLabeler regions")
    plot_ternary(shown.assign_coords(region=sorted(set(shown["dft_region"].values))), "dft_region", ax=axes[1],
                 measured=False)
    axes[1].set_title("DFT regions")
    fig.tight_layout()
    fig.savefig(figures / "regions.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 seeds and shorter runs (about a minute)")
    ap.add_argument("--no-figures", action="store_true")
    args = ap.parse_args()
    quick = args.quick
    t_start = time.perf_counter()
    ds = fegapd()
    lib = Library(ds, source="fegapd")
    dft = ds["dft_region"].values
    n = len(lib.candidates)
    label_rows = labeling(ds)
    print_table("labeling: all 278 samples against the DFT regions", label_rows)
    all_fmi = label_rows[1]["fmi"]
    target = SHARE * all_fmi
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    budget = 96 if quick else 200
    campaigns = {p: campaign_runs(lib, p, seeds, budget, target) for p in ("boundary", "entropy", "random")}
    summary = {p: summarise(r, n) for p, r in campaigns.items()}
    random_median = summary["random"]["median"]
    rows = [{"planner": p, **s, "fewer_than_random": (round(random_median / s["median"], 2)
                                                         if s["median"] and random_median else None)}
            for p, s in summary.items()]
    print_table(f"campaigns: samples until the FMI keeps {SHARE:.0%} of {all_fmi} (= {target:.3f})", rows)
    print(f"campaigns done at {time.perf_counter() - t_start:.0f} s", flush=True)

    correct = hull(lib, dft == 0)
    fe = lib.candidates[:, 0]
    wrong = hull(lib, (fe > np.quantile(fe, 0.5)) & np.isin(dft, [0, 1]))
    prior_rows = []
    for name, polygon, certainty in (("none", None, None), ("correct (DFT region 0)", correct, 0.8),
                                     ("wrong (across regions 0 and 1)", wrong, 0.3)):
        priors = None if polygon is None else [{"region": polygon.tolist(), "phase": "A", "certainty": certainty}]
        runs = campaigns["entropy"] if polygon is None else campaign_runs(lib, "entropy", seeds, budget, target, priors)
        s = summarise(runs, n)
        inside, pure = purity(lib, polygon, dft) if polygon is not None else (None, None)
        prior_rows.append({"prior": name, "certainty": certainty, "samples_inside": inside, "purity": pure, **s})
    base = prior_rows[0]["median"]
    for row in prior_rows:
        row["relative_to_none"] = round(row["median"] / base, 2) if row["median"] and base else None
    print_table("priors (entropy planner)", prior_rows)

    prop_rows = property_cv(lib, ds)
    print_table("held-out magnetisation, 5-fold", prop_rows)
    refit = refit_seconds(lib, ds)
    print_table("refit", refit)
    if not args.no_figures and not quick:
        draw(ds, campaigns, target, ROOT / "docs" / "images" / "library")
    out = {
        "provenance": run_provenance(),
        "quick": quick,
        "seconds": round(time.perf_counter() - t_start, 1),
        "labeling": label_rows,
        "target_fmi": round(target, 4),
        "campaigns": rows,
        "campaign_runs": campaigns,
        "priors": prior_rows,
        "property": prop_rows,
        "refit": refit,
    }
    path = ROOT / "benchmarks" / "results" / ("bench_library_quick.json" if quick else "bench_library.json")
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path} in {out['seconds']} s")


if __name__ == "__main__":
    main()
