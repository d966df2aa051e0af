"""Prior knowledge about a phase diagram: likely phase regions and likely boundaries, each with a certainty.

After Kusne, Adams et al., "Human-in-the-loop for Bayesian autonomous materials
phase mapping" (Joule 2024): a person's (or a theory's) belief enters the phase
map as a prior, weighted by how sure they are, and data override it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_number
from .._jsonfile import read_json
from .._space import Space

__all__ = ["RegionPrior", "BoundaryPrior", "FieldPrior", "Priors", "load_priors"]

#: probability a certainty-1 region prior gives its phase (never exactly 1: data must still win)
MAX_PRIOR_PROBABILITY = 0.95


def _check_certainty(value: Any) -> float:
    return check_number("certainty", value, low=0.0, high=1.0)


def _vertices(name: str, value: Any, ndim: int, minimum: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list of [x, y] vertices, got {value!r}") from None
    if arr.ndim != 2 or arr.shape[1] != ndim or len(arr) < minimum:
        raise ValueError(f"{name} must have at least {minimum} vertices of {ndim} coordinates, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has non-finite coordinates")
    return arr


@dataclass(frozen=True)
class RegionPrior:
    """``phase`` is likely inside ``polygon`` (vertices in user units), with ``certainty`` in [0, 1]."""

    polygon: np.ndarray
    phase: str
    certainty: float

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.polygon.tolist(), "phase": self.phase, "certainty": self.certainty}


@dataclass(frozen=True)
class BoundaryPrior:
    """A boundary likely runs along ``polyline`` (user units), within ``width`` (unit-cube units)."""

    polyline: np.ndarray
    certainty: float
    width: float = 0.05

    def to_dict(self) -> dict[str, Any]:
        return {"boundary": self.polyline.tolist(), "certainty": self.certainty, "width": self.width}


@dataclass(frozen=True)
class FieldPrior:
    """Phase probabilities on a regular grid over the space (e.g. a theory's diagram), held with ``certainty``.

    ``axes``: one coordinate array per space axis (user units, increasing); ``proba``: ``(*shape, n_phases)``.
    Between grid nodes the probabilities are interpolated linearly; ``source`` names who stated it, and a
    new field from the same source replaces the old one (:meth:`Priors.set_field`).
    """

    axes: tuple[np.ndarray, ...]
    proba: np.ndarray
    certainty: float
    source: str = "theory"

    def at(self, points: np.ndarray) -> np.ndarray:
        from scipy.interpolate import RegularGridInterpolator

        pts = np.atleast_2d(points)
        clipped = np.column_stack([np.clip(pts[:, k], a[0], a[-1]) for k, a in enumerate(self.axes)])
        p = RegularGridInterpolator(self.axes, self.proba, method="linear")(clipped)
        return p / p.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": {"axes": [a.tolist() for a in self.axes], "proba": self.proba.tolist()},
            "certainty": self.certainty,
            "source": self.source,
        }


class Priors:
    """The prior knowledge a phase map carries, evaluated on points.

    ``proba(points)`` is the prior's phase probabilities (uniform where nothing
    is stated), ``certainty(points)`` how strongly it is held there, and
    ``attention(points)`` how strongly a stated boundary asks to be looked at.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.maps import Priors
    >>> pr = Priors(Space([Axis("x", 0, 1), Axis("y", 0, 1)]), ("a", "b"))
    >>> pr.add(region=[[0, 0], [0.5, 0], [0.5, 1], [0, 1]], phase="a", certainty=1.0)
    >>> pr.proba([[0.25, 0.5], [0.75, 0.5]]).round(2).tolist()
    [[0.95, 0.05], [0.5, 0.5]]
    """

    def __init__(self, space: Space, phases: Sequence[str]) -> None:
        self.space, self.phases = space, tuple(phases)
        self.items: list[RegionPrior | BoundaryPrior | FieldPrior] = []
        #: bumped on every change, so a planner knows to refit its model
        self.version = 0

    def __len__(self) -> int:
        return len(self.items)

    def add(
        self,
        region: Any = None,
        phase: str | None = None,
        boundary: Any = None,
        certainty: float = 0.5,
        width: float = 0.05,
        field: Any = None,
        source: str = "theory",
    ) -> None:
        """Add a region (``region`` polygon + ``phase``), a boundary (``boundary`` polyline) or a gridded
        probability ``field`` (``{"axes": [...], "proba": [...]}``, see :class:`FieldPrior`)."""
        certainty = _check_certainty(certainty)
        if field is not None:
            if region is not None or boundary is not None:
                raise ValueError("give exactly one of region=, boundary= or field=")
            self.set_field(_field_prior(field, self.space, len(self.phases), certainty, source))
            return
        if self.space.unit_ndim != 2:
            raise ValueError(f"priors are polygons and polylines in 2-D spaces, not in {self.space!r}")
        if (region is None) == (boundary is None):
            raise ValueError("give exactly one of region= (with phase=) or boundary=")
        if self.space.unit_ndim != self.space.ndim:  # compositions: each vertex must be one
            region = None if region is None else self.space.validate(_vertices("region", region, self.space.ndim, 3))
            boundary = (
                None if boundary is None else self.space.validate(_vertices("boundary", boundary, self.space.ndim, 2))
            )
        if region is not None:
            if phase not in self.phases:
                raise ValueError(f"prior phase {phase!r} is not one of the phases {list(self.phases)}")
            self.items.append(RegionPrior(_vertices("region", region, self.space.ndim, 3), phase, certainty))
        else:
            if not (isinstance(width, (int, float)) and 0 < width <= 1):
                raise ValueError(f"width must be in (0, 1] (unit-cube units), got {width!r}")
            self.items.append(
                BoundaryPrior(_vertices("boundary", boundary, self.space.ndim, 2), certainty, float(width))
            )
        self.version += 1

    def set_field(self, prior: FieldPrior) -> None:
        """Add a gridded prior, replacing an earlier one from the same ``source``."""
        self.items = [it for it in self.items if not (isinstance(it, FieldPrior) and it.source == prior.source)]
        self.items.append(prior)
        self.version += 1

    # ---------------------------------------------------------------- fields
    def proba(self, points: Any) -> np.ndarray:
        """Prior phase probabilities at ``points`` (uniform where no region is stated)."""
        q, _ = self._region_fields(points)
        return q

    def certainty(self, points: Any) -> np.ndarray:
        """How strongly the prior is held at ``points`` (0 = not at all)."""
        return self._region_fields(points)[1]

    def attention(self, points: Any) -> np.ndarray:
        """Certainty-weighted closeness to a stated boundary, in [0, 1]."""
        u = self.space.to_unit(np.atleast_2d(points))
        out = np.zeros(len(u))
        for item in self.items:
            if isinstance(item, BoundaryPrior):
                d = _distance_to_polyline(u, self.space.to_unit(item.polyline))
                out = np.maximum(out, item.certainty * np.exp(-0.5 * (d / item.width) ** 2))
        return out

    def _region_fields(self, points: Any) -> tuple[np.ndarray, np.ndarray]:
        from matplotlib.path import Path

        pts = np.atleast_2d(np.asarray(points, dtype=float))
        n, k = len(pts), len(self.phases)
        weight = np.zeros((n, k))
        for item in self.items:
            if isinstance(item, RegionPrior):
                polygon = self.space.plane_coordinates(item.polygon)
                inside = Path(polygon).contains_points(self.space.plane_coordinates(pts))
                j = self.phases.index(item.phase)
                weight[inside, j] = np.maximum(weight[inside, j], item.certainty)
        # a stated boundary makes the regions beside it less certain within its width
        weight *= (1.0 - self.attention(pts))[:, None]
        certainty = weight.max(axis=1)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), weight.argmax(axis=1)] = 1.0
        sharp = MAX_PRIOR_PROBABILITY * onehot + (1 - MAX_PRIOR_PROBABILITY) * (1 - onehot) / max(k - 1, 1)
        q = (1 - certainty)[:, None] / k + certainty[:, None] * sharp
        for item in self.items:
            if isinstance(item, FieldPrior):
                p = item.at(pts)
                p = np.clip(p, (1 - MAX_PRIOR_PROBABILITY) / max(k - 1, 1), MAX_PRIOR_PROBABILITY)
                p /= p.sum(axis=1, keepdims=True)
                q = (1 - item.certainty) * q + item.certainty * p
                certainty = np.maximum(certainty, item.certainty * (p.max(axis=1) * k - 1) / (k - 1))
        return q, certainty

    # ------------------------------------------------------------ round trip
    def to_list(self) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self.items]

    def extend(self, specs: Sequence[Mapping[str, Any]]) -> None:
        """Add priors from dicts like ``{"region": [[x, y], ...], "phase": "a", "certainty": 0.8}``
        or ``{"boundary": [[x, y], ...], "certainty": 0.5, "width": 0.05}``."""
        for i, spec in enumerate(specs):
            if not isinstance(spec, Mapping):
                raise ValueError(f"prior {i}: expected an object with 'region' or 'boundary', got {spec!r}")
            unknown = set(spec) - {"region", "phase", "boundary", "certainty", "width", "field", "source"}
            if unknown:
                raise ValueError(f"prior {i}: unknown field {sorted(unknown)[0]!r}")
            if "certainty" not in spec:
                raise ValueError(f"prior {i}: missing field 'certainty'")
            try:
                self.add(**spec)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"prior {i}: {exc}") from None


def _field_prior(spec: Any, space: Space, n_phases: int, certainty: float, source: str) -> FieldPrior:
    if isinstance(spec, FieldPrior):
        return FieldPrior(spec.axes, spec.proba, certainty, source)
    if not isinstance(spec, Mapping) or "axes" not in spec or "proba" not in spec:
        raise ValueError("field must be {'axes': [coords per axis], 'proba': [[...]]}")
    axes = tuple(np.asarray(a, dtype=float) for a in spec["axes"])
    proba = np.asarray(spec["proba"], dtype=float)
    if len(axes) != space.ndim or proba.shape != (*(len(a) for a in axes), n_phases):
        raise ValueError(f"field proba must have shape (*axis lengths, {n_phases}), got {proba.shape}")
    if any(len(a) < 2 or np.any(np.diff(a) <= 0) for a in axes):
        raise ValueError("field axes must be increasing, with at least 2 values each")
    if not np.all(np.isfinite(proba)) or (proba < 0).any():
        raise ValueError("field proba must be finite and non-negative")
    return FieldPrior(axes, proba / np.maximum(proba.sum(axis=-1, keepdims=True), 1e-300), certainty, str(source))


def load_priors(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a prior file: a JSON list of region/boundary objects (or ``{"priors": [...]}``)."""
    try:
        data = read_json(path, "prior file ")
    except FileNotFoundError:
        raise ValueError(f"prior file {str(path)!r} does not exist") from None
    if isinstance(data, Mapping):
        data = data.get("priors")
    if not isinstance(data, list):
        raise ValueError(f'prior file {str(path)!r}: expected a list of priors or {{"priors": [...]}}')
    return data


def _distance_to_polyline(u: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of ``u`` to the polyline ``line`` (same coordinates)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.einsum("nsd,sd->ns", u[:, None, :] - a[None], ab) / np.maximum((ab * ab).sum(axis=1), 1e-300)
    t = np.clip(t, 0.0, 1.0)
    nearest = a[None] + t[..., None] * ab[None]
    return np.sqrt(((u[:, None, :] - nearest) ** 2).sum(axis=2)).min(axis=1) if len(a) else np.full(len(u), math.inf)
