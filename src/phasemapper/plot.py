"""Matplotlib figures (imported lazily; never needed by the core)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ._types import CriticalPoint
    from .detectors import Observables

__all__ = ["plot_observables", "plot_indicators", "plot_boundary_estimates", "plot_phase_map"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (files only; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike, dpi: int = 110) -> str:
    """Lay out, write and close ``fig``; return the path as a string."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return str(path)


_PANELS = (
    ("abs_m", r"$\langle |m| \rangle$"),
    ("susceptibility", r"susceptibility $\chi$"),
    ("specific_heat", r"specific heat $c$"),
    ("binder", r"Binder cumulant $U_4$"),
)


def plot_observables(obs: Observables, path: str | os.PathLike, exact: float | None = None) -> str:
    """Four panels of a fitted :class:`~phasemapper.detectors.Observables` with its Tc estimates.

    Writes a PNG to ``path`` and returns the path. ``exact`` draws the exact
    critical value as a dashed line for comparison.
    """
    plt = pyplot()
    data = obs.observables_
    axis = obs.axis
    x = data[axis].values
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), sharex=True)
    for ax, (name, label) in zip(axes.ravel(), _PANELS):
        for L in data["L"].values:
            ax.errorbar(
                x, data[name].sel(L=L).values, yerr=data[f"{name}_err"].sel(L=L).values,
                marker="o", ms=3, lw=1, capsize=2, label=f"L = {L}",
            )
        for cp, color in zip(obs.critical_points_, ("tab:red", "tab:purple")):
            ax.axvline(cp.value, color=color, lw=1, label=f"{cp.method}: {cp.value:.4f} ± {cp.uncertainty:.4f}")
            ax.axvspan(cp.value - cp.uncertainty, cp.value + cp.uncertainty, color=color, alpha=0.12)
        if exact is not None:
            ax.axvline(exact, color="k", ls="--", lw=1, label=f"exact: {exact:.4f}")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel(axis)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    return _save(fig, path, dpi=120)


def plot_indicators(detectors: dict, path: str | os.PathLike, exact: float | Sequence[float] | None = None) -> str:
    """One panel per fitted detector: its ``indicator_`` curve per size and its critical points.

    ``detectors`` maps a name to a fitted detector on a 1-D scan; ``exact`` is the reference
    transition (or several, e.g. two on one line). Writes a PNG and returns its path.
    """
    exact_values = [] if exact is None else [float(exact)] if isinstance(exact, (int, float)) else [float(v) for v in exact]
    plt = pyplot()

    n = len(detectors)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.4 * rows), squeeze=False)
    for ax, (name, det) in zip(axes.ravel(), detectors.items()):
        curve = det.indicator_
        axis = curve.dims[-1]
        for L in curve["L"].values if "L" in curve.dims else [None]:
            c = curve.sel(L=L) if L is not None else curve
            ax.plot(c[axis].values, c.values, marker="o", ms=2, lw=1, label=f"L = {L}" if L is not None else None)
        for cp in det.critical_points_[:1]:
            ax.axvline(cp.value, color="tab:red", lw=1, label=f"{cp.value:.4f} ± {cp.uncertainty:.4f}")
            ax.axvspan(cp.value - cp.uncertainty, cp.value + cp.uncertainty, color="tab:red", alpha=0.12)
        for value in exact_values:
            ax.axvline(value, color="k", ls="--", lw=1, label=f"exact {value:.4f}")
        ax.set_xlim(float(curve[axis].min()), float(curve[axis].max()))
        ax.set_title(f"{name}: {curve.name or ''}", fontsize=9)
        ax.set_xlabel(axis)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return _save(fig, path)


def plot_boundary_estimates(detectors: dict, path: str | os.PathLike, reference: Sequence[CriticalPoint] = ()) -> str:
    """Where each detector puts the transition on each line of a 2-D grid, against the reference.

    ``detectors`` maps a name to a detector fitted on 2-D grids, whose critical points carry
    their line in ``at``; each line shows the detector's first estimate (the finite-size
    extrapolation when there is one) with its one-sigma bar. ``reference`` holds reference
    transitions on many lines (:meth:`~phasemapper.systems.System.reference_transitions`),
    drawn as a dotted curve. Writes a PNG and returns its path.
    """
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    along = other = None
    for k, (name, det) in enumerate(detectors.items()):
        firsts: dict[tuple, CriticalPoint] = {}
        for cp in det.critical_points_:
            if cp.at:
                firsts.setdefault(tuple(cp.at.items()), cp)
        if not firsts:
            continue
        sample = next(iter(firsts.values()))
        along, other = sample.axis, next(iter(sample.at))
        x = [cp.at[other] for cp in firsts.values()]
        span = (max(x) - min(x)) or 1.0
        ax.errorbar([v + (k - len(detectors) / 2) * 0.006 * span for v in x], [cp.value for cp in firsts.values()],
                    yerr=[cp.uncertainty for cp in firsts.values()], fmt="o", ms=4, capsize=2, label=name)
    ref = [cp for cp in reference if cp.at and other in cp.at]
    if ref:
        ax.plot([cp.at[other] for cp in ref], [cp.value for cp in ref], "k.", ms=3, label="reference")
    ax.set_xlabel(other or "")
    ax.set_ylabel(f"transition along {along}" if along else "")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_phase_map(phase_map: Any, points: Any, labels: Any, path: str | os.PathLike, reference: Any = None) -> str:
    """Three panels of a campaign: the phase map with its boundaries and band, the uncertainty (entropy),
    and the evaluated points numbered in the order they were asked.

    ``phase_map`` is a phase-map Dataset (``proba``, ``label``, ``entropy``; boundaries in attrs),
    ``points`` the ``(n, ndim)`` evaluated points in order, ``labels`` their phase names, and
    ``reference`` optional reference labels on the map's grid (drawn as a dotted contour).
    """
    import json

    plt = pyplot()
    import numpy as np

    phases = [str(p) for p in phase_map["phase"].values]
    axes_names = [d for d in phase_map["label"].dims]
    codes = {p: i for i, p in enumerate(phases)}
    label_idx = np.vectorize(codes.get)(phase_map["label"].values.astype(str))
    cmap = plt.get_cmap("tab10")
    points = np.asarray(points, dtype=float).reshape(-1, len(axes_names))
    point_idx = np.array([codes[str(lab)] for lab in labels], dtype=int)
    fig, axs = plt.subplots(1, 3, figsize=(16, 4.8))
    if len(axes_names) == 1:
        x = phase_map[axes_names[0]].values
        for k, p in enumerate(phases):
            axs[0].plot(x, phase_map["proba"].sel(phase=p).values, color=cmap(k), label=p)
        axs[0].set_ylabel("probability")
        axs[1].plot(x, phase_map["entropy"].values, color="k")
        axs[2].scatter(points[:, 0], np.arange(len(points)), c=[cmap(k) for k in point_idx], s=14)
        axs[2].set_ylabel("evaluation order")
        for ax in axs:
            ax.set_xlabel(axes_names[0])
        axs[0].legend(fontsize=8)
    else:
        xn, yn = axes_names[:2]
        x, y = phase_map[xn].values, phase_map[yn].values
        extent = (x[0], x[-1], y[0], y[-1])
        from matplotlib.colors import ListedColormap

        phase_cmap = ListedColormap([cmap(k) for k in range(len(phases))])
        axs[0].imshow(label_idx.T, origin="lower", extent=extent, aspect="auto", cmap=phase_cmap,
                      vmin=-0.5, vmax=len(phases) - 0.5, alpha=0.55, interpolation="nearest")
        for b in json.loads(phase_map.attrs.get("boundaries", "[]")):
            for line in b["lines"]:
                arr = np.asarray(line)
                axs[0].plot(arr[:, 0], arr[:, 1], color="k", lw=1.5)
            for line in b["band"]:
                arr = np.asarray(line)
                axs[0].plot(arr[:, 0], arr[:, 1], color="k", lw=0.7, ls="--")
        if reference is not None:
            ref_idx = np.vectorize(codes.get)(np.asarray(reference).astype(str))
            axs[0].contour(x, y, ref_idx.T, levels=np.arange(len(phases)) + 0.5, colors="magenta", linestyles=":")
        for k, p in enumerate(phases):
            axs[0].plot([], [], color=cmap(k), lw=6, alpha=0.55, label=p)
        axs[0].legend(fontsize=8, loc="best")
        axs[0].set_title("phase map (boundaries, dashed: uncertainty band" + (", dotted: reference)" if reference is not None else ")"))
        im = axs[1].imshow(phase_map["entropy"].values.T, origin="lower", extent=extent, aspect="auto", cmap="viridis")
        fig.colorbar(im, ax=axs[1], label="entropy (nats)")
        axs[1].set_title("uncertainty")
        order = np.arange(len(points))
        sc = axs[2].scatter(points[:, 0], points[:, 1], c=order, cmap="plasma", s=18,
                            edgecolors=[cmap(k) for k in point_idx], linewidths=1.2)
        if len(points) <= 80:
            for i, p in enumerate(points):
                axs[2].annotate(str(i + 1), p[:2], fontsize=6, xytext=(2, 2), textcoords="offset points")
        fig.colorbar(sc, ax=axs[2], label="evaluation order")
        axs[2].set_xlim(x[0], x[-1])
        axs[2].set_ylim(y[0], y[-1])
        axs[2].set_title(f"evaluated points ({len(points)}), in order")
        for ax in axs:
            ax.set_xlabel(xn)
            ax.set_ylabel(yn)
    return _save(fig, path)
