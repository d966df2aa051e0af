"""Scan data as the learned detectors need it: network inputs and the grid of parameter points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

__all__ = ["ParameterGrid", "network_inputs", "SPATIAL_DIMS"]

#: site dims that are lattice directions; any other site dim (e.g. the chain's ``basis``) is a channel
SPATIAL_DIMS = ("y", "x", "site")


def network_inputs(ds: xr.Dataset) -> np.ndarray:
    """Configurations as ``float32 (point, sample, channel, *lattice)``.

    Integer states are used as they are; angles (float configurations, e.g. XY)
    become two channels, ``cos`` and ``sin``. Site dims that are not lattice
    directions (``y``, ``x``, ``site``) become channels.
    """
    da = ds["configuration"]
    site = list(da.dims[2:])
    spatial = [d for d in site if d in SPATIAL_DIMS] or site[-1:]
    channels = [d for d in site if d not in spatial]
    da = da.transpose("point", "sample", *channels, *spatial)
    x = np.asarray(da.values)
    P, S = x.shape[:2]
    lattice = x.shape[2 + len(channels) :]
    x = x.reshape(P, S, -1, *lattice)
    if np.issubdtype(x.dtype, np.floating):
        x = np.concatenate([np.cos(x), np.sin(x)], axis=2)
    return x.astype(np.float32)


@dataclass(frozen=True)
class ParameterGrid:
    """The points of a scan as a full tensor grid over one or two axes.

    ``index[i]`` is the position of point ``i`` in the grid (C order over
    ``values``); ``theta`` the ``(n_points, n_axes)`` coordinates in user units.
    """

    axes: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    index: np.ndarray
    theta: np.ndarray

    @classmethod
    def from_scan(cls, ds: xr.Dataset, axis: str) -> ParameterGrid:
        """The grid of ``ds``: ``axis`` plus any other point coordinate that varies (at most one)."""
        coords = [c for c in ds.coords if ds[c].dims == ("point",) and c != "point"]
        if axis not in coords:
            raise ValueError(f"axis {axis!r} is not a coordinate of the scan (has {coords})")
        varying = [c for c in coords if c != axis and np.unique(ds[c].values).size > 1]
        if len(varying) > 1:
            raise ValueError(f"scans over at most two axes are supported; {[axis, *varying]} all vary")
        axes = (axis, *(str(c) for c in varying))
        theta = np.column_stack([np.asarray(ds[a].values, dtype=float) for a in axes])
        values = tuple(np.unique(theta[:, k]) for k in range(len(axes)))
        if values[0].size < 3:
            raise ValueError(f"axis {axis!r} must hold at least 3 distinct values")
        positions = [np.searchsorted(v, theta[:, k]) for k, v in enumerate(values)]
        index = np.ravel_multi_index(positions, [v.size for v in values])
        shape = tuple(v.size for v in values)
        if np.unique(index).size != index.size or index.size != int(np.prod(shape)):
            raise ValueError(f"the scan's points must form a full grid over {list(axes)} without repeats")
        return cls(axes, values, index, theta)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(v.size for v in self.values)

    def to_grid(self, per_point: np.ndarray) -> np.ndarray:
        """Arrange a per-point array (first axis = point) on the grid (leading dims = ``shape``)."""
        out = np.empty((int(np.prod(self.shape)), *per_point.shape[1:]), dtype=per_point.dtype)
        out[self.index] = per_point
        return out.reshape(*self.shape, *per_point.shape[1:])

    def rows(self) -> list[tuple[dict[str, float], np.ndarray]]:
        """Lines along the first axis: ``(at, point indices ordered along the axis)`` per value of the other axis."""
        order = np.empty(self.index.size, dtype=int)
        order[self.index] = np.arange(self.index.size)
        grid = order.reshape(self.shape)
        if len(self.axes) == 1:
            return [({}, grid)]
        return [({self.axes[1]: float(v)}, grid[:, k]) for k, v in enumerate(self.values[1])]
