"""Ternary figures of composition spaces and libraries (mpltern), for :mod:`phasemapper.plot`."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._extras import require

__all__ = ["ternary_axes", "plot_ternary", "plot_region_patterns", "plot_library", "plot_property", "is_ternary"]


def is_ternary(dataset: Any) -> bool:
    """Whether a Dataset is a field over three-element compositions (a phase map on a Simplex or a library)."""
    space = json.loads(dataset.attrs.get("space", "{}")) if hasattr(dataset, "attrs") else {}
    return space.get("kind") == "simplex" and len(space.get("elements", ())) == 3 and not space.get("extra")


def ternary_axes(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None, path: Any = None):
    """New ternary Axes (``projection="ternary"`` of mpltern): on a bare Figure when ``path`` is to be
    written, else through pyplot (which a notebook shows). Returns one Axes or an array of them."""
    from .plot import _new_figure

    _register_ternary()
    fig = _new_figure(figsize or (5.0 * ncols, 4.6 * nrows), path)
    axes = np.array(
        [
            [fig.add_subplot(nrows, ncols, r * ncols + c + 1, projection="ternary") for c in range(ncols)]
            for r in range(nrows)
        ]
    )
    return axes[0, 0] if nrows == ncols == 1 else axes


def _register_ternary() -> None:
    """Import mpltern, which registers the ``"ternary"`` projection (one line naming the extra if missing)."""
    require("mpltern", by="ternary plots")
    import mpltern  # noqa: F401


def _check_ternary_ax(ax: Any) -> None:
    if getattr(ax, "name", "") != "ternary":
        raise ValueError(
            "ax: a ternary plot needs Axes made with projection='ternary' (after `import mpltern`), "
            "e.g. phasemapper.plot.ternary_axes()"
        )


def _compositions(source: Any) -> tuple[list[str], np.ndarray, Any]:
    """Element names, ``(n, 3)`` fractions and the Dataset of a phase map on a Simplex, a library result
    or a library Dataset."""
    ds = getattr(source, "dataset", source)
    if "composition" in ds.data_vars:  # a library: composition (sample, element)
        return [str(e) for e in ds["element"].values], np.asarray(ds["composition"].values, dtype=float), ds
    space = json.loads(ds.attrs.get("space", "{}"))
    if space.get("kind") != "simplex":
        raise ValueError("source: expected a phase map over a Simplex, a library or a LibraryResult")
    elements = list(space["elements"])
    return elements, np.column_stack([ds[e].values for e in elements]), ds


def _tlr(fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """mpltern's (top, left, right) from fractions of (first, second, third) element: the first element at
    the lower left, the second at the lower right, the third at the top, as :meth:`Simplex.to_unit` places them."""
    return fractions[:, 2], fractions[:, 0], fractions[:, 1]


def _label_axes(ax: Any, elements: list[str]) -> None:
    ax.set_tlabel(elements[2])
    ax.set_llabel(elements[0])
    ax.set_rlabel(elements[1])


def plot_ternary(
    source: Any,
    variable: str = "label",
    *,
    ax: Any = None,
    measured: bool = True,
    path: str | os.PathLike | None = None,
) -> Any:
    """``variable`` over the compositions of ``source`` on ternary Axes; returns the Axes.

    ``source`` is a phase map over a three-element :class:`~phasemapper.Simplex`
    (:meth:`PhaseMap.phase_map`; drawn as filled contours) or a library result
    (:class:`~phasemapper.LibraryResult` or its Dataset; one marker per sample, the measured
    ones edged in black when ``measured``). ``label`` is drawn in one colour per phase,
    numeric variables (``entropy``, a property) with a colour bar.
    """
    from matplotlib.colors import ListedColormap

    from .plot import _write

    elements, frac, ds = _compositions(source)
    ax = ternary_axes(path=path) if ax is None else ax
    _check_ternary_ax(ax)
    if variable not in ds:
        raise ValueError(f"variable: {variable!r} is not in the source (it has {sorted(map(str, ds.data_vars))})")
    values = np.asarray(ds[variable].values)
    t, left, r = _tlr(frac)
    lattice = "sample" not in ds.dims
    if values.dtype.kind in "USO":
        import matplotlib

        phases = [str(p) for p in ds["phase"].values] if "phase" in ds.coords else [str(p) for p in ds["region"].values]
        codes = np.array([phases.index(str(v)) for v in values], dtype=float)
        cmap = ListedColormap([matplotlib.colormaps["tab10"](k % 10) for k in range(len(phases))])
        if lattice:
            ax.tricontourf(t, left, r, codes, levels=np.arange(len(phases) + 1) - 0.5, cmap=cmap, alpha=0.6)
        else:
            ax.scatter(t, left, r, c=codes, cmap=cmap, vmin=-0.5, vmax=len(phases) - 0.5, s=22)
        for k, p in enumerate(phases):
            ax.scatter([], [], [], color=cmap(k), label=p)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.82, 1.0))
    else:
        if lattice:
            im = ax.tricontourf(t, left, r, values.astype(float), levels=16, cmap="viridis")
        else:
            im = ax.scatter(t, left, r, c=values.astype(float), cmap="viridis", s=22)
        colorbar_ax = ax.inset_axes([1.05, 0.1, 0.04, 0.8], transform=ax.transAxes)
        ax.figure.colorbar(im, cax=colorbar_ax, label=variable)
    if measured and not lattice and "measured" in ds:
        done = np.asarray(ds["measured"].values, dtype=bool)
        ax.scatter(t[done], left[done], r[done], facecolors="none", edgecolors="k", s=30, linewidths=0.8)
    _label_axes(ax, elements)
    ax.set_title(variable if not measured or lattice or "measured" not in ds else f"{variable} (black: measured)")
    _write(ax, path)
    return ax


def _ternary_points(phase_map: Any, points: Any, labels: Any, *, ax: Any = None, path: Any = None) -> Any:
    """Evaluated compositions in order (colour) edged by their phase, on ternary Axes."""
    import matplotlib

    from .plot import _write

    elements, _, _ = _compositions(phase_map)
    ax = ternary_axes(path=path) if ax is None else ax
    _check_ternary_ax(ax)
    phases = [str(p) for p in phase_map["phase"].values]
    cmap = matplotlib.colormaps["tab10"]
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    t, left, r = _tlr(pts)
    edges = [cmap(phases.index(str(lab)) % 10) for lab in labels]
    sc = ax.scatter(t, left, r, c=np.arange(len(pts)), cmap="plasma", s=18, edgecolors=edges, linewidths=1.2)
    ax.figure.colorbar(sc, cax=ax.inset_axes([1.05, 0.1, 0.04, 0.8], transform=ax.transAxes), label="order")
    _label_axes(ax, elements)
    ax.set_title(f"evaluated points ({len(pts)}), in order")
    _write(ax, path)
    return ax


def plot_region_patterns(
    source: Any, variable: str = "endmembers", *, ax: Any = None, path: str | os.PathLike | None = None
) -> Any:
    """Each region's pattern against 2-theta, offset one above another: ``"endmembers"`` (NMF components)
    or ``"region_patterns"`` (mean pattern of the region's samples). ``source``: a LibraryResult (or its
    Dataset) or a fitted :class:`~phasemapper.labelers.SpectraLabeler`. Returns the Axes."""
    import matplotlib

    from .plot import _axes, _write

    ax = _axes(ax, 1, 1, (6.0, 4.6), path)
    if hasattr(source, "endmembers_"):
        two_theta = source.two_theta_
        patterns = source.endmembers_ if variable == "endmembers" else source.region_patterns_
        names = [f"R{i + 1}" for i in range(len(patterns))]
    else:
        ds = getattr(source, "dataset", source)
        if variable not in ds:
            raise ValueError(f"variable: {variable!r} is not in the source (no regions were found?)")
        two_theta, patterns, names = ds["two_theta"].values, ds[variable].values, [str(r) for r in ds["region"].values]
    cmap = matplotlib.colormaps["tab10"]
    for k, (name, pattern) in enumerate(zip(names, patterns)):
        peak = float(np.max(pattern)) or 1.0
        ax.plot(two_theta, pattern / peak + 1.1 * k, color=cmap(k % 10), label=name)
    ax.set_xlabel(r"$2\theta$ (degrees)")
    ax.set_ylabel("intensity (each scaled to 1, offset)")
    ax.set_yticks([])
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("end members (NMF)" if variable == "endmembers" else "mean pattern of each region")
    _write(ax, path)
    return ax


def plot_property(model: Any, *, axes: Any = None, grid_size: int = 41, path: str | os.PathLike | None = None) -> Any:
    """A fitted :class:`~phasemapper.maps.PhaseProperty` over a ternary: the property's mean and the
    width of its 95% interval, with the training samples. Returns the two Axes."""
    from .plot import _write

    space = model.space
    axes = ternary_axes(1, 2, path=path) if axes is None else axes
    for ax in np.ravel(axes):
        _check_ternary_ax(ax)
    grid = space.grid(grid_size)
    mean, _ = model.predict(grid)
    interval = model.predict_interval(grid)
    t, left, r = _tlr(grid)
    ts, ls, rs = _tlr(model.points_)
    for ax, values, name in zip(
        np.ravel(axes), (mean, interval[:, 1] - interval[:, 0]), ("mean", "95% interval width")
    ):
        im = ax.tricontourf(t, left, r, values, levels=16, cmap="viridis")
        ax.scatter(ts, ls, rs, s=6, color="w", edgecolors="k", linewidths=0.3)
        ax.figure.colorbar(im, cax=ax.inset_axes([1.05, 0.1, 0.04, 0.8], transform=ax.transAxes))
        _label_axes(ax, list(space.elements))
        ax.set_title(f"property: {name}")
    _write(axes, path)
    return axes


def plot_library(result: Any, *, axes: Any = None, path: str | os.PathLike | None = None) -> Any:
    """Four panels of a library campaign: regions, their uncertainty (ternary), the end members, and
    the agreement with the reference after each batch (if one was given). Returns the Axes."""
    from .plot import _write

    ds = getattr(result, "dataset", result)
    if axes is None:
        from .plot import _new_figure

        _register_ternary()
        fig = _new_figure((19, 4.6), path)
        axes = [
            fig.add_subplot(1, 4, 1, projection="ternary"),
            fig.add_subplot(1, 4, 2, projection="ternary"),
            fig.add_subplot(1, 4, 3),
            fig.add_subplot(1, 4, 4),
        ]
    if "label" not in ds:
        raise ValueError(f"result: no regions to draw ({ds.attrs.get('reason', 'nothing was measured')})")
    plot_ternary(ds, "label", ax=axes[0])
    plot_ternary(ds, "entropy", ax=axes[1])
    plot_region_patterns(ds, ax=axes[2])
    ax = axes[3]
    n = ds["n_measured"].values
    for name, style in (("fmi", "o-"), ("ari", "s--")):
        if name in ds and np.isfinite(ds[name].values).any():
            ax.plot(n, ds[name].values, style, label=name.upper())
    ax.set_xlabel("samples measured")
    ax.set_ylabel("agreement with the reference")
    ax.set_ylim(0, 1)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.set_title("after each batch")
    _write(axes, path)
    return axes
