"""Matplotlib figures of scans, detectors and phase maps (imported lazily; never needed by the core).

Every function draws onto the Axes it is given (``ax=``, or ``axes=`` for several panels) and returns
them, so a figure can be composed in a notebook. Without Axes it makes a figure of its own: through
``matplotlib.pyplot`` when nothing is to be written (a notebook shows it), or a bare
``matplotlib.figure.Figure`` when ``path=`` is given, written there. Nothing here selects a backend
or changes matplotlib's settings.

Examples
--------
>>> import numpy as np, xarray as xr
>>> from matplotlib.figure import Figure
>>> from phasemapper.plot import plot_phase_map
>>> x = np.linspace(0, 1, 16)
>>> p = 1 / (1 + np.exp(-(x - 0.4) / 0.05))
>>> pm_ = xr.Dataset({"proba": (("phase", "x"), [1 - p, p]), "label": ("x", np.where(p > 0.5, "b", "a")),
...                   "entropy": ("x", -(p * np.log(p) + (1 - p) * np.log(1 - p)))},
...                  coords={"x": x, "phase": ["a", "b"]})
>>> axes = Figure().subplots(1, 3)
>>> [ax.get_title() for ax in plot_phase_map(pm_, [[0.2], [0.7]], ["a", "b"], axes=axes)]
['', 'uncertainty', 'evaluated points (2), in order']
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._plot_ternary import (
    _ternary_points,
    is_ternary,
    plot_library,
    plot_property,
    plot_region_patterns,
    plot_ternary,
    ternary_axes,
)

if TYPE_CHECKING:  # pragma: no cover
    from ._types import CriticalPoint
    from .detectors import Observables

__all__ = [
    "plot_observables",
    "plot_indicator",
    "plot_indicators",
    "plot_boundary_estimates",
    "plot_phase_map",
    "plot_map",
    "plot_uncertainty",
    "plot_points",
    "ternary_axes",
    "plot_ternary",
    "plot_region_patterns",
    "plot_library",
    "plot_property",
]


def _axes(given: Any, nrows: int, ncols: int, figsize: tuple[float, float], path: Any) -> Any:
    """``given`` Axes, or new ones: on a bare Figure when a file is to be written, else through pyplot."""
    if given is not None:
        return given
    axes = _new_figure(figsize, path).subplots(nrows, ncols, squeeze=False)
    return axes[0, 0] if nrows == ncols == 1 else axes


def _new_figure(figsize: tuple[float, float], path: Any) -> Any:
    """A bare Figure when a file is to be written, else one through pyplot (which a notebook shows)."""
    if path is not None:
        from matplotlib.figure import Figure

        return Figure(figsize=figsize)
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize)


def _figure_of(axes: Any) -> Any:
    return np.ravel(axes)[0].figure


def _write(axes: Any, path: Any, dpi: int = 110) -> None:
    """Lay out and write the figure holding ``axes`` to ``path`` (a file, atomically, or a binary stream), if one
    is given."""
    if path is None:
        return
    fig = _figure_of(axes)
    fig.tight_layout()
    if not isinstance(path, (str, os.PathLike)):  # a stream (BytesIO)
        fig.savefig(path, dpi=dpi)
        return
    from ._atomic import write_atomically

    fmt = os.path.splitext(os.fspath(path))[1].lstrip(".") or "png"
    write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=fmt))


_PANELS = (
    ("abs_m", r"$\langle |m| \rangle$"),
    ("susceptibility", r"susceptibility $\chi$"),
    ("specific_heat", r"specific heat $c$"),
    ("binder", r"Binder cumulant $U_4$"),
)


def _scale_axes(ax: Any, phase_map: Any, names: Sequence[str]) -> None:
    """Logarithmic x (and y) where the map's axis is logarithmic (its coordinate's ``scale`` attribute)."""
    for name, setter in zip(names[:2], (ax.set_xscale, ax.set_yscale)):
        if phase_map[name].attrs.get("scale") == "log":
            setter("log")


def _cell_edges(phase_map: Any, name: str) -> np.ndarray:
    """Edges of the cells around a map's grid nodes: halfway between nodes in the axis' own scale (geometric
    means on a logarithmic axis), the outer edges as far out as the inner ones."""
    nodes = np.asarray(phase_map[name].values, dtype=float)
    log = phase_map[name].attrs.get("scale") == "log"
    u = np.log(nodes) if log else nodes
    if u.size == 1:
        edges = np.array([u[0] - 0.5, u[0] + 0.5])
    else:
        mid = (u[1:] + u[:-1]) / 2
        edges = np.concatenate([[2 * u[0] - mid[0]], mid, [2 * u[-1] - mid[-1]]])
    return np.exp(edges) if log else edges


def _critical_band(ax: Any, cp: CriticalPoint, color: str, label: str | None = None) -> None:
    ax.axvline(cp.value, color=color, lw=1, label=label or f"{cp.value:.4f} ± {cp.uncertainty:.4f}")
    ax.axvspan(cp.value - cp.uncertainty, cp.value + cp.uncertainty, color=color, alpha=0.12)


def _exact_values(exact: float | Sequence[float] | None) -> list[float]:
    return [] if exact is None else [float(v) for v in np.atleast_1d(np.asarray(exact, dtype=float))]


def plot_observables(
    obs: Observables, *, axes: Any = None, exact: float | None = None, path: str | os.PathLike | None = None
) -> Any:
    """Four panels of a fitted :class:`~phasemapper.detectors.Observables` (``|m|``, susceptibility, specific heat,
    Binder cumulant per size) with its critical-point estimates; ``exact`` draws the exact value dashed.
    ``axes``: a 2 x 2 array of Axes. Returns the axes (written to ``path`` if given)."""
    axes = _axes(axes, 2, 2, (10, 7.5), path)
    data = obs.observables_
    axis = obs.axis
    x = data[axis].values
    for ax, (name, label) in zip(np.ravel(axes), _PANELS):
        for L in data["L"].values:
            ax.errorbar(
                x,
                data[name].sel(L=L).values,
                yerr=data[f"{name}_err"].sel(L=L).values,
                marker="o",
                ms=3,
                lw=1,
                capsize=2,
                label=f"L = {L}",
            )
        for cp, color in zip(obs.critical_points_, ("tab:red", "tab:purple")):
            _critical_band(ax, cp, color, f"{cp.method}: {cp.value:.4f} ± {cp.uncertainty:.4f}")
        if exact is not None:
            ax.axvline(exact, color="k", ls="--", lw=1, label=f"exact: {exact:.4f}")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in np.atleast_2d(axes)[-1]:
        ax.set_xlabel(axis)
    np.ravel(axes)[0].legend(fontsize=7, loc="lower left")
    _write(axes, path, dpi=120)
    return axes


def plot_indicator(
    detector: Any,
    *,
    ax: Any = None,
    exact: float | Sequence[float] | None = None,
    title: str | None = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """A fitted detector's ``indicator_`` curve per size and its first critical point, on ``ax``.

    ``exact`` is the reference transition (or several). Returns the Axes.
    """
    ax = _axes(ax, 1, 1, (5.0, 3.6), path)
    curve = detector.indicator_
    axis = curve.dims[-1]
    for L in curve["L"].values if "L" in curve.dims else [None]:
        c = curve.sel(L=L) if L is not None else curve
        if c.ndim > 1:  # a 2-D grid: one curve per line
            continue
        ax.plot(c[axis].values, c.values, marker="o", ms=2, lw=1, label=f"L = {L}" if L is not None else None)
    for cp in detector.critical_points_[:1]:
        _critical_band(ax, cp, "tab:red")
    for value in _exact_values(exact):
        ax.axvline(value, color="k", ls="--", lw=1, label=f"exact {value:.4f}")
    ax.set_xlim(float(curve[axis].min()), float(curve[axis].max()))
    ax.set_title(title if title is not None else f"{type(detector).__name__}: {curve.name or ''}", fontsize=9)
    ax.set_xlabel(axis)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    _write(ax, path)
    return ax


def plot_indicators(
    detectors: dict[str, Any], *, exact: float | Sequence[float] | None = None, path: str | os.PathLike | None = None
) -> Any:
    """One panel per fitted detector (:func:`plot_indicator`), three to a row. Returns the Figure."""
    n = len(detectors)
    if n == 0:
        raise ValueError("detectors: give at least one fitted detector")
    cols = min(n, 3)
    rows = -(-n // cols)
    axes = _axes(None, rows, cols, (4.6 * cols, 3.4 * rows), path)
    for ax, (name, det) in zip(np.ravel(axes), detectors.items()):
        plot_indicator(det, ax=ax, exact=exact, title=f"{name}: {det.indicator_.name or ''}")
    for ax in np.ravel(axes)[n:]:
        ax.set_visible(False)
    _write(axes, path)
    return _figure_of(axes)


def plot_boundary_estimates(
    detectors: dict[str, Any],
    *,
    ax: Any = None,
    reference: Sequence[CriticalPoint] = (),
    path: str | os.PathLike | None = None,
) -> Any:
    """Where each detector puts the transition on each line of a 2-D grid, against the reference.

    ``detectors`` maps a name to a detector fitted on 2-D grids, whose critical points carry
    their line in ``at``; each line shows the detector's first estimate (the finite-size
    extrapolation when there is one) with its one-sigma bar. ``reference`` holds reference
    transitions on many lines (:meth:`~phasemapper.systems.System.reference_transitions`),
    drawn as dots. Returns the Axes.
    """
    ax = _axes(ax, 1, 1, (6.4, 4.6), path)
    along = other = None
    for k, (name, det) in enumerate(detectors.items()):
        firsts: dict[tuple, tuple[dict[str, float], CriticalPoint]] = {}
        for cp in det.critical_points_:
            if cp.at:
                firsts.setdefault(tuple(cp.at.items()), (cp.at, cp))
        if not firsts:
            continue
        at, sample = next(iter(firsts.values()))
        along, other = sample.axis, next(iter(at))
        x = [where[other] for where, _ in firsts.values()]
        span = (max(x) - min(x)) or 1.0
        ax.errorbar(
            [v + (k - len(detectors) / 2) * 0.006 * span for v in x],
            [cp.value for _, cp in firsts.values()],
            yerr=[cp.uncertainty for _, cp in firsts.values()],
            fmt="o",
            ms=4,
            capsize=2,
            label=name,
        )
    ref = [(cp.at[other], cp.value) for cp in reference if cp.at and other is not None and other in cp.at]
    if ref:
        ax.plot([x for x, _ in ref], [v for _, v in ref], "k.", ms=3, label="reference")
    ax.set_xlabel(other or "")
    ax.set_ylabel(f"transition along {along}" if along else "")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    _write(ax, path)
    return ax


def _phase_codes(phase_map: Any) -> tuple[list[str], dict[str, int], Any]:
    import matplotlib

    phases = [str(p) for p in phase_map["phase"].values]
    return phases, {p: i for i, p in enumerate(phases)}, matplotlib.colormaps["tab10"]


def plot_map(phase_map: Any, *, ax: Any = None, reference: Any = None, path: str | os.PathLike | None = None) -> Any:
    """The most likely phase with its boundaries and their uncertainty band (2-D), or each phase's
    probability (1-D); ``reference`` labels on the map's grid are drawn as a dotted contour. A map over a
    ternary :class:`~phasemapper.Simplex` is drawn by :func:`plot_ternary`. Returns the Axes."""
    if is_ternary(phase_map):
        return plot_ternary(phase_map, "label", ax=ax, path=path)
    ax = _axes(ax, 1, 1, (5.4, 4.6), path)
    phases, codes, cmap = _phase_codes(phase_map)
    names = list(phase_map["label"].dims)
    _scale_axes(ax, phase_map, names)
    if len(names) == 1:
        x = phase_map[names[0]].values
        for k, p in enumerate(phases):
            ax.plot(x, phase_map["proba"].sel(phase=p).values, color=cmap(k), label=p)
        ax.set_xlabel(names[0])
        ax.set_ylabel("probability")
        ax.legend(fontsize=8)
        _write(ax, path)
        return ax
    from matplotlib.colors import ListedColormap

    xn, yn = names[:2]
    x, y = phase_map[xn].values, phase_map[yn].values
    label_idx = np.vectorize(codes.get)(phase_map["label"].values.astype(str))
    ax.pcolormesh(  # one cell around each grid node, in the axes' own scale
        _cell_edges(phase_map, xn),
        _cell_edges(phase_map, yn),
        label_idx.T,
        shading="flat",
        cmap=ListedColormap([cmap(k) for k in range(len(phases))]),
        vmin=-0.5,
        vmax=len(phases) - 0.5,
        alpha=0.55,
    )
    for b in json.loads(phase_map.attrs.get("boundaries", "[]")):
        for line in b["lines"]:
            arr = np.asarray(line)
            ax.plot(arr[:, 0], arr[:, 1], color="k", lw=1.5)
        for line in b["band"]:
            arr = np.asarray(line)
            ax.plot(arr[:, 0], arr[:, 1], color="k", lw=0.7, ls="--")
    if reference is not None:
        ref_idx = np.vectorize(codes.get)(np.asarray(reference).astype(str))
        ax.contour(x, y, ref_idx.T, levels=np.arange(len(phases)) + 0.5, colors="magenta", linestyles=":")
    for k, p in enumerate(phases):
        ax.plot([], [], color=cmap(k), lw=6, alpha=0.55, label=p)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(
        "phase map (boundaries, dashed: uncertainty band" + (", dotted: reference)" if reference is not None else ")")
    )
    ax.set_xlabel(xn)
    ax.set_ylabel(yn)
    _write(ax, path)
    return ax


def plot_uncertainty(phase_map: Any, *, ax: Any = None, path: str | os.PathLike | None = None) -> Any:
    """The entropy of the phase probabilities (nats) over the map. Returns the Axes."""
    if is_ternary(phase_map):
        return plot_ternary(phase_map, "entropy", ax=ax, path=path)
    ax = _axes(ax, 1, 1, (5.4, 4.6), path)
    names = list(phase_map["label"].dims)
    _scale_axes(ax, phase_map, names)
    if len(names) == 1:
        ax.plot(phase_map[names[0]].values, phase_map["entropy"].values, color="k")
        ax.set_xlabel(names[0])
        ax.set_ylabel("entropy (nats)")
    else:
        xn, yn = names[:2]
        im = ax.pcolormesh(
            _cell_edges(phase_map, xn), _cell_edges(phase_map, yn), phase_map["entropy"].values.T, cmap="viridis"
        )
        ax.figure.colorbar(im, ax=ax, label="entropy (nats)")
        ax.set_xlabel(xn)
        ax.set_ylabel(yn)
    ax.set_title("uncertainty")
    _write(ax, path)
    return ax


def plot_points(
    phase_map: Any, points: Any, labels: Any, *, ax: Any = None, path: str | os.PathLike | None = None
) -> Any:
    """The evaluated ``points`` in the order they were asked (numbered when there are few), edged by their
    phase ``labels``. Returns the Axes."""
    if is_ternary(phase_map):
        return _ternary_points(phase_map, points, labels, ax=ax, path=path)
    ax = _axes(ax, 1, 1, (5.4, 4.6), path)
    phases, codes, cmap = _phase_codes(phase_map)
    names = list(phase_map["label"].dims)
    points = np.asarray(points, dtype=float).reshape(-1, len(names))
    colors = [cmap(codes[str(lab)]) for lab in labels]
    order = np.arange(len(points))
    _scale_axes(ax, phase_map, names)
    if len(names) == 1:
        ax.scatter(points[:, 0], order, c=colors, s=14)
        ax.set_xlabel(names[0])
        ax.set_ylabel("evaluation order")
    else:
        xn, yn = names[:2]
        x, y = phase_map[xn].values, phase_map[yn].values
        sc = ax.scatter(points[:, 0], points[:, 1], c=order, cmap="plasma", s=18, edgecolors=colors, linewidths=1.2)
        if len(points) <= 80:
            for i, p in enumerate(points):
                ax.annotate(str(i + 1), p[:2], fontsize=6, xytext=(2, 2), textcoords="offset points")
        ax.figure.colorbar(sc, ax=ax, label="evaluation order")
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_xlabel(xn)
        ax.set_ylabel(yn)
    ax.set_title(f"evaluated points ({len(points)}), in order")
    _write(ax, path)
    return ax


def plot_phase_map(
    phase_map: Any,
    points: Any,
    labels: Any,
    *,
    axes: Any = None,
    reference: Any = None,
    path: str | os.PathLike | None = None,
) -> Any:
    """Three panels of a campaign: :func:`plot_map`, :func:`plot_uncertainty` and :func:`plot_points`.

    ``phase_map`` is a phase-map Dataset (``proba``, ``label``, ``entropy``; boundaries in attrs),
    ``points`` the ``(n, ndim)`` evaluated points in order, ``labels`` their phase names, and
    ``reference`` optional reference labels on the map's grid. ``axes``: three Axes. Returns them.
    """
    if axes is None and is_ternary(phase_map):
        axes = ternary_axes(1, 3, figsize=(16, 4.8), path=path)
    axes = np.ravel(_axes(axes, 1, 3, (16, 4.8), path))
    plot_map(phase_map, ax=axes[0], reference=reference)
    plot_uncertainty(phase_map, ax=axes[1])
    plot_points(phase_map, points, labels, ax=axes[2])
    _write(axes, path)
    return axes
