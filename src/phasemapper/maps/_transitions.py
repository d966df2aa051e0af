"""Critical points read off a fitted phase map: where the most likely phase changes along an axis."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._types import CriticalPoint

__all__ = ["critical_points_from_map"]


def critical_points_from_map(
    phase_map: xr.Dataset, axis: str, n_lines: int = 9, band: float = 0.5
) -> list[CriticalPoint]:
    """Where the most likely phase changes along ``axis``, on ``n_lines`` lines across the other axis.

    The value is where ``p_a = p_b`` for the two phases on either side (linear
    interpolation on the map's grid); the uncertainty is half the width of the
    band ``|p_a - p_b| < band`` around it (at least half a grid spacing).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = np.linspace(0, 1, 101); p = 1 / (1 + np.exp(-(x - 0.3) / 0.02))
    >>> pm = xr.Dataset({"proba": (("phase", "x"), [1 - p, p])}, coords={"x": x, "phase": ["a", "b"]})
    >>> cp = critical_points_from_map(pm, "x")[0]
    >>> round(cp.value, 3)
    0.3
    """
    proba = phase_map["proba"]
    if axis not in proba.dims:
        raise ValueError(f"axis {axis!r} is not an axis of the phase map ({[d for d in proba.dims if d != 'phase']})")
    others = [d for d in proba.dims if d not in ("phase", axis)]
    if len(others) > 1:
        raise ValueError("critical points are read from 1-D and 2-D maps")
    phases = [str(p) for p in proba["phase"].values]
    x = proba[axis].values
    spacing = float(np.median(np.diff(x)))
    lines: list[tuple[dict[str, float], xr.DataArray]] = (
        [({}, proba)]
        if not others
        else [
            ({str(others[0]): float(v)}, proba.sel({others[0]: v}))
            for v in proba[others[0]].values[
                np.unique(np.linspace(0, proba.sizes[others[0]] - 1, n_lines).round().astype(int))
            ]
        ]
    )
    out = []
    for at, line in lines:
        p = line.transpose(axis, "phase").values
        top = p.argmax(axis=1)
        for i in np.flatnonzero(top[1:] != top[:-1]):
            a, b = top[i], top[i + 1]
            d = p[:, a] - p[:, b]
            value = x[i] + (x[i + 1] - x[i]) * d[i] / (d[i] - d[i + 1])
            inside = np.flatnonzero(np.abs(d) < band)
            near = inside[np.abs(x[inside] - value) < 0.25 * (x[-1] - x[0])] if inside.size else inside
            width = (x[near].max() - x[near].min()) / 2 if near.size else 0.0
            out.append(
                CriticalPoint(
                    axis,
                    float(value),
                    float(max(width, spacing / 2)),
                    f"phase map boundary {phases[a]}|{phases[b]}",
                    at=at or None,
                )
            )
    return out
