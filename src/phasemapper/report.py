"""A self-contained HTML report of a run: figures, boundaries, critical points, accuracy, evaluations, provenance."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import write_atomically
from ._store import read_theory
from .maps._transitions import critical_points_from_map

__all__ = ["write_report", "html_page", "png_data"]


def _table(headers: list[str], rows: list[list[Any]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def html_page(title: str, parts: list[str]) -> str:
    """One self-contained HTML page: ``title``, then the ``parts`` (HTML fragments); the body records how
    many of its images loaded (``data-images-ok``, ``data-images-failed``)."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
th {{ background: #f0f0f0; }}
.warning {{ color: #a40000; font-weight: bold; }}
img {{ max-width: 100%; }}
pre {{ background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.8em; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
{"".join(parts)}
<script>
window.addEventListener("load", function () {{
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }}).length;
  document.body.setAttribute("data-images-ok", String(ok));
  document.body.setAttribute("data-images-failed", String(imgs.length - ok));
}});
</script>
</body></html>
"""


def png_data(draw: Any) -> str:
    """``draw(stream)`` writes a PNG; its base64 text for an ``<img src="data:image/png;base64,...">``."""
    png = io.BytesIO()
    draw(png)
    return base64.b64encode(png.getvalue()).decode("ascii")


def write_report(run: str | os.PathLike, path: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` (one file: figures embedded as PNG data) for the run directory ``run``.

    Sections: summary, phase map / uncertainty / evaluated points figure, boundaries, critical
    points, accuracy against the system's reference diagram (when it has one), evaluations, provenance.
    A library run (:class:`~phasemapper.LibraryCampaign`) gets :func:`write_library_report`.
    """
    from ._library_report import is_library_run, write_library_report

    if is_library_run(run):
        return write_library_report(run, path)
    from ._manifest import system_from_manifest
    from ._result import load_run
    from .metrics import boundary_distance, label_grid, misclassified_area

    result = load_run(run)
    spec = json.loads((result.path / "manifest.json").read_text())
    pm = result.phase_map
    axes = [str(d) for d in pm["label"].dims]
    reference = None
    system = None
    try:
        system = system_from_manifest(spec, result.path)
        reference, _ = label_grid(system, result.model.space, pm.sizes[axes[0]])
    except (ValueError, TypeError, NotImplementedError):
        reference = None
    figure = png_data(lambda png: result.plot(reference=reference, path=png))

    evals = result.evaluations
    summary = [
        ["system", f"{spec['system']['name']} {json.dumps(spec['system']['params'])}"],
        ["space", ", ".join(f"{a['name']} in [{a['low']:g}, {a['high']:g}]" for a in spec["space"]["axes"])],
        ["phases", ", ".join(spec["phases"])],
        ["planner", f"{spec['planner']['name']} {json.dumps(spec['planner']['params'])}"],
        ["labeler", f"{spec['labeler']['name']} {json.dumps(spec['labeler']['params'])}"],
        ["model", f"{spec['model']['name']} {json.dumps(spec['model']['params'])}"],
        ["priors", str(len(spec["model"]["priors"]))],
        [
            "evaluations",
            f"{sum(e.status == 'done' for e in evals)} done, {sum(e.status == 'failed' for e in evals)} failed, "
            f"{sum(e.status == 'pending' for e in evals)} pending",
        ],
        ["stop reason", spec.get("stop_reason", "") or "(not finished)"],
        ["mean entropy", f"{float(pm['entropy'].mean()):.4f} nats"],
        ["seed", spec["seed"]],
    ]
    boundaries = json.loads(pm.attrs.get("boundaries", "[]"))
    b_rows = []
    for b in boundaries:
        lines = [np.asarray(line) for line in b["lines"]]
        b_rows.append([" | ".join(b["phases"]), len(lines), sum(len(line) for line in lines), len(b["band"])])
    cps = []
    for axis in axes:
        cps += [
            [
                cp.axis,
                _fmt(cp.value),
                _fmt(cp.uncertainty),
                cp.method,
                ", ".join(f"{k}={v:.4g}" for k, v in (cp.at or {}).items()),
            ]
            for cp in critical_points_from_map(pm, axis)
        ]
    acc = []
    if reference is not None:
        acc.append(
            ["misclassified area (fraction of the space)", f"{misclassified_area(pm, system, result.model.space):.4f}"]
        )
        dist = boundary_distance(pm, system, result.model.space)
        acc.append(["mean boundary distance (unit cube)", f"{dist['mean']:.4f}"])
        acc.append(["Hausdorff boundary distance (unit cube)", f"{dist['hausdorff']:.4f}"])
        acc.append(["reference", getattr(system, "reference", "") or type(system).__name__])
    ev_rows = [
        [
            e.id + 1,
            e.batch,
            ", ".join(f"{v:.4g}" for v in e.point),
            e.status,
            e.attempts,
            "" if e.proba is None else spec["phases"][int(np.argmax(e.proba))],
            "" if e.seconds is None else f"{e.seconds:.3g}",
            (e.error or "")[:120],
        ]
        for e in evals[:500]
    ]
    versions = spec.get("versions", {})
    parts = [
        "<h2>Summary</h2>",
        _table(["", ""], summary, "summary"),
        "<h2>Phase map</h2>",
        f'<figure><img alt="phase map, uncertainty and evaluated points" src="data:image/png;base64,{figure}">'
        "<figcaption>Left: most likely phase, boundaries (solid) and their uncertainty band (dashed)"
        + (", reference (dotted)" if reference is not None else "")
        + ". Middle: entropy of the phase probabilities. Right: evaluated points, numbered in order.</figcaption></figure>",
        "<h2>Boundaries</h2>",
        _table(["phases", "polylines", "vertices", "band polylines"], b_rows, "boundaries"),
        "<h2>Critical points</h2>",
        _table(["axis", "value", "uncertainty", "method", "at"], cps, "critical-points"),
    ]
    if acc:
        parts += ["<h2>Accuracy against the reference</h2>", _table(["metric", "value"], acc, "accuracy")]
    th = read_theory(result.path)
    if th:
        rows = [[k, _fmt(v), _fmt(th["sd"][k]), _fmt(th["start"][k])] for k, v in th["parameters"].items()]
        rows += [[k, _fmt(v), "", ""] for k, v in th.get("features", {}).items()]
        parts += [
            f"<h2>Theory refit</h2><p>after {th['n_evaluations']} evaluations</p>",
            _table(["parameter", "estimate", "uncertainty (1 sd)", "start"], rows, "theory"),
        ]
    failed = [e for e in evals if e.status == "failed"]
    if failed:
        fail_rows = [
            [e.id + 1, ", ".join(f"{v:.4g}" for v in e.point), e.attempts, e.error or ""] for e in failed[:500]
        ]
        parts += [
            f'<h2 id="failures">Failed evaluations</h2><p class="warning">{len(failed)} of {len(evals)} '
            "evaluations failed for good" + (" (first 500 shown)" if len(failed) > 500 else "") + "</p>",
            _table(["#", "point", "attempts", "error"], fail_rows, "failures"),
        ]
    parts += [
        f"<h2>Evaluations</h2><p>{len(evals)} in the ledger"
        + (" (first 500 shown)" if len(evals) > 500 else "")
        + "</p>",
        _table(["#", "batch", "point", "status", "attempts", "phase", "seconds", "error"], ev_rows, "evaluations"),
        "<h2>Provenance</h2>",
        _table(["package", "version"], [[k, v] for k, v in versions.items()], "provenance"),
        f"<pre>{html.escape(json.dumps(spec, indent=1))}</pre>",
    ]
    title = f"phasemapper run: {spec['system']['name']} ({result.path.name})"
    doc = html_page(title, parts)
    out = Path(path) if path is not None else result.path / "report.html"
    return write_atomically(out, lambda tmp: tmp.write_text(doc, encoding="utf-8"))
