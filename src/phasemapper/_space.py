"""Parameter spaces: named axes with bounds, unit-cube transforms, grids and Sobol points."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import check_choice, check_finite, check_positive_int

__all__ = ["Axis", "Space"]

_SCALES = ("linear", "log")


@dataclass(frozen=True)
class Axis:
    """One named parameter axis with bounds.

    Parameters
    ----------
    name : str
        Name of the parameter (used as the xarray coordinate name).
    low, high : float
        Finite bounds with ``low < high`` (``low > 0`` for ``scale="log"``).
    scale : {"linear", "log"}
        How the axis maps onto the unit interval.
    unit : str, optional
        Unit for labels, e.g. ``"K"``.

    Examples
    --------
    >>> from phasemapper import Axis
    >>> Axis("T", 1.0, 4.0).to_unit([1.0, 2.5, 4.0]).tolist()
    [0.0, 0.5, 1.0]
    """

    name: str
    low: float
    high: float
    scale: str = "linear"
    unit: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"axis name must be an identifier string, got {self.name!r}")
        for field in ("low", "high"):
            value = getattr(self, field)
            object.__setattr__(self, field, check_finite(f"axis {self.name!r}: {field}", value))
        if not self.low < self.high:
            raise ValueError(f"axis {self.name!r}: bounds are inverted or empty (low={self.low}, high={self.high})")
        check_choice(f"axis {self.name!r}: scale", self.scale, _SCALES)
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"axis {self.name!r}: a log axis needs low > 0, got low={self.low}")

    def to_unit(self, values: Any) -> np.ndarray:
        """Map values in user units to [0, 1]."""
        v = np.asarray(values, dtype=float)
        if self.scale == "log":
            return (np.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (v - self.low) / (self.high - self.low)

    def from_unit(self, u: Any) -> np.ndarray:
        """Map values in [0, 1] to user units."""
        u = np.asarray(u, dtype=float)
        if self.scale == "log":
            return np.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    def linspace(self, n: int) -> np.ndarray:
        """``n`` points evenly spaced in the axis' scale, bounds included."""
        n = check_positive_int(f"axis {self.name!r}: number of grid points", n)
        if n == 1:
            return self.from_unit(np.array([0.5]))
        return self.from_unit(np.linspace(0.0, 1.0, int(n)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "low": self.low, "high": self.high, "scale": self.scale, "unit": self.unit}


class Space:
    """A box of named axes; points are ``(n, ndim)`` float arrays in user units.

    Parameters
    ----------
    axes : sequence of Axis
        The axes, in the order of the point columns. Names must be unique.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> space = Space([Axis("T", 1.0, 3.0), Axis("h", -1.0, 1.0)])
    >>> space.grid(3).shape
    (9, 2)
    >>> space.sobol(8, seed=0).shape
    (8, 2)
    """

    def __init__(self, axes: Sequence[Axis]) -> None:
        axes = tuple(axes)
        if not axes:
            raise ValueError("space needs at least one axis")
        for axis in axes:
            if not isinstance(axis, Axis):
                raise TypeError(f"space axes must be Axis objects, got {axis!r}")
        names = [a.name for a in axes]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"axis {name!r} appears more than once in the space")
        self.axes: tuple[Axis, ...] = axes

    # ------------------------------------------------------------------ basics
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def unit_ndim(self) -> int:
        """Columns of :meth:`to_unit` coordinates (the space's own dimension; ``ndim`` for a box)."""
        return self.ndim

    @property
    def bounds(self) -> np.ndarray:
        """``(ndim, 2)`` array of ``[low, high]`` per axis."""
        return np.array([[a.low, a.high] for a in self.axes])

    def __getitem__(self, name: str) -> Axis:
        for axis in self.axes:
            if axis.name == name:
                return axis
        raise KeyError(f"no axis named {name!r} (axes: {', '.join(self.names)})")

    def __repr__(self) -> str:
        inner = ", ".join(f"{a.name}=[{a.low:g}, {a.high:g}]{'' if a.scale == 'linear' else ' log'}" for a in self.axes)
        return f"Space({inner})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, Space) and self.axes == other.axes

    def __hash__(self) -> int:
        return hash(self.axes)

    def to_dict(self) -> dict[str, Any]:
        return {"axes": [a.to_dict() for a in self.axes]}

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Space:
        """Rebuild a space (a box, or a :class:`~phasemapper.Simplex`) from :meth:`to_dict`."""
        if spec.get("kind") == "simplex":
            from ._simplex import Simplex

            return Simplex(spec["elements"], extra=[Axis(**a) for a in spec.get("extra", [])])
        return cls([Axis(**a) for a in spec["axes"]])

    # -------------------------------------------------------------- transforms
    def to_unit(self, points: Any) -> np.ndarray:
        """Map ``(n, ndim)`` points in user units to the unit cube."""
        pts = self._as_array(points)
        return np.column_stack([a.to_unit(pts[:, i]) for i, a in enumerate(self.axes)])

    def from_unit(self, u: Any) -> np.ndarray:
        """Map ``(n, ndim)`` points in the unit cube to user units."""
        arr = np.atleast_2d(np.asarray(u, dtype=float))
        if arr.shape[1] != self.ndim:
            raise ValueError(f"points must have {self.ndim} columns ({', '.join(self.names)}), got {arr.shape[1]}")
        return np.column_stack([a.from_unit(arr[:, i]) for i, a in enumerate(self.axes)])

    def from_cube(self, u: Any) -> np.ndarray:
        """Map ``(n, unit_ndim)`` points of the unit cube onto the space, uniform to uniform.

        Planners draw Sobol or random numbers in the cube and place them with this map.
        For a box it is :meth:`from_unit`.
        """
        return self.from_unit(u)

    def plane_coordinates(self, points: Any) -> np.ndarray:
        """Coordinates in which straight lines between points in user units stay straight
        (where prior polygons are tested); for a box, the points themselves."""
        return self._as_array(points)

    def distances(self, a: Any, b: Any) -> np.ndarray:
        """Euclidean distances ``(len(a), len(b))`` between points, in :meth:`to_unit` coordinates."""
        from scipy.spatial.distance import cdist

        return cdist(self.to_unit(self.validate(a)), self.to_unit(self.validate(b)))

    def grid_shape(self, n: int | Sequence[int] | Mapping[str, int]) -> tuple[int, ...]:
        """The shape :meth:`grid` points take as a field: one length per axis."""
        return tuple(self._counts(n))

    def _grid_dims(self) -> tuple[str, ...]:
        """What a grid has a count of: each axis."""
        return self.names

    def _counts(self, n: int | Sequence[int] | Mapping[str, int]) -> list[int]:
        """One count per :meth:`_grid_dims`, from one count, a sequence or a mapping by name (default 1)."""
        dims = self._grid_dims()
        if isinstance(n, Mapping):
            unknown = set(n) - set(dims)
            if unknown:
                raise ValueError(f"grid counts name unknown axes: {sorted(unknown)} (expected {list(dims)})")
            return [n.get(name, 1) for name in dims]
        if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
            return [int(n)] * len(dims)
        counts = list(n)  # type: ignore[arg-type]
        if len(counts) != len(dims):
            raise ValueError(f"grid needs {len(dims)} counts ({', '.join(dims)}), got {len(counts)}")
        return counts

    def grid_coords(self, n: int | Sequence[int] | Mapping[str, int]) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Dimension names and xarray coordinates of a field over :meth:`grid` points."""
        coords = {a.name: a.linspace(c) for a, c in zip(self.axes, self._counts(n))}
        return self.names, coords

    # ------------------------------------------------------------------ points
    def grid(self, n: int | Sequence[int] | Mapping[str, int]) -> np.ndarray:
        """A full tensor grid, bounds included, as ``(prod(n), ndim)`` points.

        ``n`` is one count for every axis, a sequence of counts in axis order,
        or a mapping from axis name to count. The last axis varies fastest.
        """
        lines = [a.linspace(c) for a, c in zip(self.axes, self._counts(n))]
        mesh = np.meshgrid(*lines, indexing="ij")
        return np.column_stack([m.ravel() for m in mesh])

    def sobol(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` scrambled Sobol points (scipy.stats.qmc) in user units."""
        from scipy.stats import qmc

        n = check_positive_int("number of Sobol points", n)
        sampler = qmc.Sobol(d=self.unit_ndim, scramble=True, seed=np.random.default_rng(seed))
        m = math.ceil(math.log2(n)) if n > 1 else 0
        u = sampler.random_base2(m)[:n]
        return self.from_cube(u)

    def random(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` uniform random points (uniform in each axis' scale)."""
        rng = np.random.default_rng(seed)
        return self.from_cube(rng.random((int(n), self.unit_ndim)))

    def validate(self, points: Any) -> np.ndarray:
        """Return ``points`` as a ``(n, ndim)`` float array, checking it lies in the space.

        ``points`` may be an array of shape ``(n, ndim)`` (or ``(ndim,)`` for one
        point) or a mapping of equal-length arrays keyed by axis name.
        Raises ``ValueError`` naming the axis for non-finite or out-of-bounds values.
        """
        pts = self._as_array(points)
        for i, axis in enumerate(self.axes):
            col = pts[:, i]
            bad = ~np.isfinite(col)
            if bad.any():
                raise ValueError(f"axis {axis.name!r}: non-finite value {col[bad][0]!r}")
            tol = 1e-12 * max(1.0, abs(axis.low), abs(axis.high))
            outside = (col < axis.low - tol) | (col > axis.high + tol)
            if outside.any():
                raise ValueError(
                    f"axis {axis.name!r}: value {col[outside][0]:g} is outside the bounds [{axis.low:g}, {axis.high:g}]"
                )
        return pts

    def _as_array(self, points: Any) -> np.ndarray:
        if isinstance(points, Mapping):
            unknown = set(points) - set(self.names)
            if unknown:
                raise ValueError(f"points name unknown axes {sorted(unknown)}; axes are {list(self.names)}")
            missing = [n for n in self.names if n not in points]
            if missing:
                raise ValueError(f"points are missing axis {missing[0]!r}")
            cols = [np.atleast_1d(np.asarray(points[n], dtype=float)) for n in self.names]
            lengths = {c.shape for c in cols}
            if len(lengths) != 1 or cols[0].ndim != 1:
                raise ValueError("points given as a mapping need equal-length 1-D arrays per axis")
            return np.column_stack(cols)
        try:
            arr = np.asarray(points, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"points must be a numeric array or a mapping of axis name to values: {exc}") from None
        if arr.ndim == 1 and arr.shape[0] == self.ndim:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.ndim:
            raise ValueError(
                f"points must have shape (n, {self.ndim}) for axes ({', '.join(self.names)}), got {arr.shape}"
            )
        return arr
