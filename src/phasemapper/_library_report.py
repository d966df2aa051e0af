"""The HTML report of a library run: regions on the ternary, end members, property, history, failures."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._atomic import write_atomically

__all__ = ["is_library_run", "write_library_report"]


def is_library_run(run: str | os.PathLike) -> bool:
    """Whether ``run`` is the directory of a :class:`~phasemapper.LibraryCampaign`."""
    from ._library_campaign import LEDGER

    return (Path(run) / LEDGER).exists()


def write_library_report(run: str | os.PathLike, path: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` for a library run: summary, regions / uncertainty / end members / agreement
    figure, the property map (when one was fitted), regions, history, failures, measured samples, settings."""
    from ._library_campaign import LEDGER, RESULT
    from ._plot_ternary import plot_library
    from .report import _fmt, _table, html_page, png_data

    run = Path(run)
    ledger = json.loads((run / LEDGER).read_text())
    if not (run / RESULT).exists():
        raise ValueError(f"run: {str(run)!r} has no {RESULT} yet (the run has not finished a batch and its analysis)")
    ds = xr.load_dataset(run / RESULT)
    params = ledger["params"]
    n, done = ds.sizes["sample"], np.asarray(ds["measured"].values, dtype=bool)
    summary = [
        [
            "library",
            f"{params.get('library') or '(a Dataset)'}: {n} samples of {', '.join(map(str, ds['element'].values))}",
        ],
        ["planner", params["planner"]],
        ["labeler", f"SpectraLabeler {json.dumps(params['labeler'])}"],
        ["model", params["model"]],
        ["measured", f"{int(done.sum())} of {n} (budget {ledger.get('budget')}), {int(ds.attrs['n_failed'])} failed"],
        ["regions", str(ds.sizes.get("region", 0)) + ("" if "label" in ds else f" ({ds.attrs['reason']})")],
        ["priors", str(len(params["priors"]))],
        ["seed", params["seed"]],
    ]
    if params.get("reference") and "fmi" in ds and np.isfinite(ds["fmi"].values[-1]):
        summary.append(
            [f"agreement with {params['reference']}", f"FMI {ds['fmi'].values[-1]:.3f}, ARI {ds['ari'].values[-1]:.3f}"]
        )
    parts = ["<h2>Summary</h2>", _table(["", ""], summary, "summary")]
    if "label" in ds:
        figure = png_data(lambda png: plot_library(ds, path=png))
        parts += [
            "<h2>Regions</h2>",
            f'<figure><img alt="regions, uncertainty, end members and agreement" src="data:image/png;base64,{figure}">'
            "<figcaption>Regions of every sample (measured ones ringed), the entropy of their probabilities, the "
            "end-member patterns, and the agreement with the reference after each batch.</figcaption></figure>",
        ]
        rows = []
        for region in ds["region"].values:
            mine = ds["label"].values == region
            row = [str(region), int(mine.sum()), int((mine & done).sum())]
            if "property_mean" in ds:
                row.append(_fmt(float(np.mean(ds["property_mean"].values[mine]))) if mine.any() else "")
            rows.append(row)
        headers = ["region", "samples", "measured"] + (
            [f"mean {ds.attrs['property']}"] if "property_mean" in ds else []
        )
        parts.append(_table(headers, rows, "regions"))
    if "property_mean" in ds:
        ds["property_interval_width"] = ds["property_high"] - ds["property_low"]
        fig = png_data(lambda png: _property_figure(ds, png))
        parts += [
            f"<h2>Property: {html.escape(ds.attrs['property'])}</h2>",
            f'<figure><img alt="property map" src="data:image/png;base64,{fig}"><figcaption>PhaseProperty: the '
            "predicted mean at every sample and the width of its 95% interval.</figcaption></figure>",
        ]
    history = [
        [int(r["n_measured"]), int(r["n_failed"])]
        + [_fmt(r[k]) if np.isfinite(r[k]) else "" for k in ("n_regions", "fmi", "ari", "mean_entropy")]
        for r in ledger["history"]
    ]
    parts += [
        "<h2>After each batch</h2>",
        _table(["measured", "failed", "regions", "FMI", "ARI", "mean entropy"], history, "history"),
    ]
    failed = ledger["failed"]
    if failed:
        parts += [
            f'<h2 id="failures">Failed measurements</h2><p class="warning">{len(failed)} sample(s) could not be '
            "measured and were skipped</p>",
            _table(["sample", "error"], [[k, v] for k, v in failed.items()], "failures"),
        ]
    order = np.argsort(np.where(done, ds["order"].values, n + 1))[: int(done.sum())]
    measured_rows = [
        [int(ds["order"].values[i]) + 1, int(i), ", ".join(f"{v:.3f}" for v in ds["composition"].values[i])]
        + ([str(ds["label"].values[i])] if "label" in ds else [])
        for i in order
    ]
    parts += [
        "<h2>Measured samples</h2>",
        _table(["#", "sample", "composition", "region"][: 3 + ("label" in ds)], measured_rows, "measured"),
        "<h2>Settings</h2>",
        f"<pre>{html.escape(json.dumps(params, indent=1))}</pre>",
    ]
    doc = html_page(f"phasemapper library run ({run.name})", parts)
    out = Path(path) if path is not None else run / "report.html"
    return write_atomically(out, lambda tmp: tmp.write_text(doc, encoding="utf-8"))


def _property_figure(ds: xr.Dataset, png: Any) -> None:
    from ._plot_ternary import plot_ternary, ternary_axes
    from .plot import _write

    axes = np.ravel(ternary_axes(1, 2, figsize=(11, 4.6), path=png))
    plot_ternary(ds, "property_mean", ax=axes[0], measured=True)
    plot_ternary(ds, "property_interval_width", ax=axes[1], measured=False)
    _write(axes, png, dpi=100)
