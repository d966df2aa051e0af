"""Composition spaces: fractions of elements that sum to one, with optional extra axes."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._checks import check_positive_int
from ._space import Axis, Space

__all__ = ["Simplex"]

#: how far a composition's fractions may sum from 1 before it is refused (rounding in data files)
SUM_TOLERANCE = 1e-3


def _vertex_coordinates(k: int) -> np.ndarray:
    """``(k, k - 1)`` coordinates of a regular simplex with unit edges: vertex 0 at the origin,
    vertex 1 on the first axis, each further vertex in the next dimension (Gram-Schmidt)."""
    edges = (np.eye(k)[1:] - np.eye(k)[0]) / np.sqrt(2.0)  # unit-length edges from vertex 0
    q, r = np.linalg.qr(edges.T)  # columns of q: orthonormal basis of the hyperplane
    q = q * np.sign(np.diag(r))  # keep each new vertex on the positive side
    return np.vstack([np.zeros(k - 1), edges @ q])


class Simplex(Space):
    """Compositions of ``elements`` (fractions summing to one), optionally with ``extra`` axes.

    Points are ``(n, len(elements) + len(extra))`` arrays: the element fractions, then the
    extra axes (e.g. a temperature). :meth:`to_unit` places a composition in the regular
    simplex with unit edges (Fe-Ga-Pd: Fe at (0, 0), Ga at (1, 0), Pd at (1/2, sqrt(3)/2)),
    so distances in unit coordinates are Euclidean distances between compositions divided
    by sqrt(2); :meth:`from_cube` maps the unit cube onto the simplex uniformly (the spacings
    of sorted coordinates), so Sobol and random points are uniform compositions.
    :meth:`grid` is the lattice of compositions with ``n`` points along each edge.

    Parameters
    ----------
    elements : sequence of str
        At least two element (or end-member) names, identifiers, in the order of the columns.
    extra : sequence of Axis, optional
        Further axes, appended after the fractions.

    Examples
    --------
    >>> from phasemapper import Simplex
    >>> space = Simplex(["Fe", "Ga", "Pd"])
    >>> space.grid(3).tolist()[:3]
    [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5]]
    >>> space.to_unit([[0.0, 0.0, 1.0]]).round(3).tolist()
    [[0.5, 0.866]]
    >>> space.sobol(4, seed=0).sum(axis=1).round(12).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, elements: Sequence[str], *, extra: Sequence[Axis] = ()) -> None:
        if isinstance(elements, str) or not isinstance(elements, Sequence):
            raise TypeError(f"elements must be a list of names, got {elements!r}")
        if len(elements) < 2:
            raise ValueError(f"elements: a composition space needs at least two elements, got {list(elements)}")
        super().__init__([Axis(e, 0.0, 1.0) for e in elements] + list(extra))
        self.elements: tuple[str, ...] = tuple(elements)
        self.extra: tuple[Axis, ...] = tuple(extra)
        k = len(self.elements)
        self._vertices = _vertex_coordinates(k)
        self._inverse = np.linalg.inv(np.vstack([self._vertices.T, np.ones(k)]))

    @property
    def unit_ndim(self) -> int:
        return len(self.elements) - 1 + len(self.extra)

    def __repr__(self) -> str:
        extra = "".join(f", {a.name}=[{a.low:g}, {a.high:g}]" for a in self.extra)
        return f"Simplex({'-'.join(self.elements)}{extra})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "simplex", "elements": list(self.elements), "extra": [a.to_dict() for a in self.extra]}

    # -------------------------------------------------------------- transforms
    def to_unit(self, points: Any) -> np.ndarray:
        """Map points to simplex coordinates (unit edges), then the extra axes to [0, 1]."""
        pts = self._as_array(points)
        k = len(self.elements)
        extra = [a.to_unit(pts[:, k + i]) for i, a in enumerate(self.extra)]
        return np.column_stack([pts[:, :k] @ self._vertices, *extra])

    def from_unit(self, u: Any) -> np.ndarray:
        """Map simplex coordinates (and extra axes in [0, 1]) back to points; raises outside the simplex."""
        arr = np.atleast_2d(np.asarray(u, dtype=float))
        if arr.ndim != 2 or arr.shape[1] != self.unit_ndim:
            raise ValueError(f"unit points must have {self.unit_ndim} columns, got shape {arr.shape}")
        k = len(self.elements)
        frac = np.column_stack([arr[:, : k - 1], np.ones(len(arr))]) @ self._inverse.T
        if (frac < -1e-9).any():
            raise ValueError("unit coordinates lie outside the simplex (use from_cube to place cube samples)")
        frac = np.clip(frac, 0.0, None)
        extra = [a.from_unit(arr[:, k - 1 + i]) for i, a in enumerate(self.extra)]
        return np.column_stack([frac / frac.sum(axis=1, keepdims=True), *extra])

    def from_cube(self, u: Any) -> np.ndarray:
        arr = np.atleast_2d(np.asarray(u, dtype=float))
        if arr.ndim != 2 or arr.shape[1] != self.unit_ndim:
            raise ValueError(f"cube points must have {self.unit_ndim} columns, got shape {arr.shape}")
        k = len(self.elements)
        ends = np.column_stack([np.zeros(len(arr)), np.sort(arr[:, : k - 1], axis=1), np.ones(len(arr))])
        extra = [a.from_unit(arr[:, k - 1 + i]) for i, a in enumerate(self.extra)]
        return np.column_stack([np.diff(ends, axis=1), *extra])

    def plane_coordinates(self, points: Any) -> np.ndarray:
        return self.to_unit(points)

    # ------------------------------------------------------------------ points
    def _grid_dims(self) -> tuple[str, ...]:
        """Points along each edge of the simplex (``"composition"``), then each extra axis."""
        return ("composition", *(a.name for a in self.extra))

    def _counts(self, n: int | Sequence[int] | Mapping[str, int]) -> list[int]:
        counts = super()._counts(n)
        counts[0] = check_positive_int("grid: points along each edge of the simplex", counts[0], 2)
        return counts

    def grid_shape(self, n: int | Sequence[int] | Mapping[str, int]) -> tuple[int, ...]:
        """``(number of lattice compositions, *extra counts)``."""
        edge, *extra = self._counts(n)
        return (len(self._lattice(edge)), *extra)

    def _lattice(self, n: int) -> np.ndarray:
        k, steps = len(self.elements), n - 1
        rows = []
        for bars in itertools.combinations(range(steps + k - 1), k - 1):  # stars and bars
            cuts = (-1, *bars, steps + k - 1)
            rows.append([cuts[i + 1] - cuts[i] - 1 for i in range(k)])
        return np.array(rows[::-1], dtype=float) / steps

    def grid_coords(self, n: int | Sequence[int] | Mapping[str, int]) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Dimensions ``("composition", *extra)``; each element's fraction is a coordinate along ``composition``."""
        edge, *extra = self._counts(n)
        lattice = self._lattice(edge)
        coords: dict[str, Any] = {"composition": np.arange(len(lattice))}
        coords.update({e: ("composition", lattice[:, j]) for j, e in enumerate(self.elements)})
        coords.update({a.name: a.linspace(c) for a, c in zip(self.extra, extra)})
        return self._grid_dims(), coords

    def grid(self, n: int | Sequence[int] | Mapping[str, int]) -> np.ndarray:
        """Every composition with fractions in steps of ``1 / (n - 1)`` (``n`` points along each edge),
        times ``n`` values of each extra axis; the extra axes vary fastest."""
        edge, *extra = self._counts(n)
        lattice = self._lattice(edge)
        lines = [np.arange(len(lattice)), *(a.linspace(c) for a, c in zip(self.extra, extra))]
        mesh = [m.ravel() for m in np.meshgrid(*lines, indexing="ij")]
        return np.column_stack([lattice[mesh[0].astype(int)], *mesh[1:]])

    def validate(self, points: Any) -> np.ndarray:
        """Points as ``(n, ndim)``, checked in bounds and with fractions summing to one (within
        0.001, then renormalised); raises ``ValueError`` naming the axis or the composition."""
        pts = super().validate(points).copy()
        k = len(self.elements)
        total = pts[:, :k].sum(axis=1)
        off = np.abs(total - 1.0) > SUM_TOLERANCE
        if off.any():
            i = int(np.argmax(off))
            raise ValueError(
                f"composition: the fractions of {', '.join(self.elements)} in row {i} sum to {total[i]:g}, not 1"
            )
        pts[:, :k] /= total[:, None]
        return pts
