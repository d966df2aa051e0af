"""Matplotlib figures (imported lazily; never needed by the core)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .detectors import Observables

__all__ = ["plot_observables"]

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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)


def plot_indicators(detectors: dict, path: str | os.PathLike, exact: float | None = None) -> str:
    """One panel per fitted detector: its ``indicator_`` curve per size and its critical points.

    ``detectors`` maps a name to a fitted detector on a 1-D scan. Writes a PNG and returns its path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        if exact is not None:
            ax.axvline(exact, color="k", ls="--", lw=1, label=f"exact {exact:.4f}")
        ax.set_xlim(float(curve[axis].min()), float(curve[axis].max()))
        ax.set_title(f"{name}: {curve.name or ''}", fontsize=9)
        ax.set_xlabel(axis)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)
