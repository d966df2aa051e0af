"""The PhaseMap contract: fit on labelled points, predict phase probabilities, extract boundaries."""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator

from .._atomic import write_atomically
from .._checks import check_choice, check_positive_int
from .._params import Parameterized
from .._space import Space
from ._priors import Priors

__all__ = ["PhaseMap", "entropy", "sorted_training_data"]


def entropy(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) along the last axis."""
    p = np.clip(proba, 1e-300, 1.0)
    return -(p * np.log(p)).sum(axis=-1)


def sorted_training_data(space: Space, points: Any, proba: Any, n_phases: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``(points, proba)`` and sort rows lexicographically, so a fit never depends on tell order."""
    pts = space.validate(points)
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:  # integer labels
        if not np.all(np.equal(np.mod(p, 1), 0)) or p.min(initial=0) < 0 or p.max(initial=0) >= n_phases:
            raise ValueError(f"labels must be integers in [0, {n_phases}), or probabilities of shape (n, {n_phases})")
        p = np.eye(n_phases)[p.astype(int)]
    if p.shape != (len(pts), n_phases):
        raise ValueError(f"proba must have shape ({len(pts)}, {n_phases}), got {p.shape}")
    if not np.all(np.isfinite(p)) or (p < 0).any():
        raise ValueError("proba must be finite and non-negative")
    totals = p.sum(axis=1, keepdims=True)
    if (totals <= 0).any():
        raise ValueError(f"proba: row {int(np.argmax(totals[:, 0] <= 0))} is all zeros; each row needs some weight")
    p = p / totals
    order = np.lexsort(np.column_stack([pts, p]).T[::-1])
    return pts[order], p[order]


class PhaseMap(Parameterized, BaseEstimator, ABC):
    """A probabilistic model of the phase diagram over a space: a scikit-learn estimator.

    The constructor stores ``space``, ``phases`` and the model's keyword arguments unchanged
    (``get_params``, ``set_params`` and ``clone`` work); they are checked when the map is used.
    Subclasses implement :meth:`_fit`, :meth:`_predict_proba` and, for their own parameters,
    :meth:`_check_params`. Everything else — validation, priors, the gridded ``phase_map``
    Dataset, the entropy field, boundary polylines with an uncertainty band, JSON save/load — is
    shared. Training rows are sorted before fitting, so the result does not depend on the order
    the data arrived in. Priors (:attr:`priors`, :meth:`add_prior`) are knowledge given to this
    map, not parameters: ``clone`` leaves them behind.
    """

    context_params = ("space", "phases")

    def __init__(self, space: Space, phases: Sequence[str]) -> None:
        self.space = space
        self.phases = phases

    def check(self) -> PhaseMap:
        """Raise ``TypeError``/``ValueError`` naming the first bad parameter; return the map."""
        if not isinstance(self.space, Space):
            raise TypeError(f"space must be a phasemapper.Space, got {type(self.space).__name__}")
        phases = tuple(self.phases) if isinstance(self.phases, (list, tuple)) else self.phases
        if (
            not isinstance(phases, tuple)
            or len(phases) < 2
            or len(set(phases)) != len(phases)
            or not all(isinstance(p, str) for p in phases)
        ):
            raise ValueError(f"phases: a phase map needs at least two distinct phase names, got {self.phases!r}")
        self._check_params()
        return self

    def _check_params(self) -> None:
        """Check the subclass's own parameters (raise naming the parameter)."""

    @property
    def priors(self) -> Priors:
        """Prior knowledge of this map (regions, boundaries; see :class:`~phasemapper.maps.Priors`)."""
        if "_priors" not in self.__dict__:
            self.check()
            self._priors = Priors(self.space, tuple(self.phases))
        return self._priors

    @property
    def n_points(self) -> int:
        """Points the map was fitted on (0 before :meth:`fit`)."""
        return len(getattr(self, "points_", ()))

    # ---------------------------------------------------------------- public
    def add_prior(
        self,
        region: Any = None,
        phase: str | None = None,
        boundary: Any = None,
        certainty: float = 0.5,
        width: float = 0.05,
    ) -> PhaseMap:
        """State prior knowledge: ``region`` (polygon, user units) is likely ``phase``, or a
        boundary likely runs along ``boundary`` (polyline); ``certainty`` in [0, 1]. Refit to apply."""
        self.priors.add(region=region, phase=phase, boundary=boundary, certainty=certainty, width=width)
        return self

    def fit(self, points: Any, proba: Any) -> PhaseMap:
        """Fit to ``points`` (n, ndim, user units) with phase probabilities (n, n_phases) or integer labels (n,)."""
        self.check()
        self.points_, self.proba_ = sorted_training_data(self.space, points, proba, len(self.phases))
        self._fit(self.space.to_unit(self.points_), self.proba_)
        return self

    def predict_proba(self, points: Any) -> np.ndarray:
        """Phase probabilities ``(n, n_phases)`` at ``points`` (user units)."""
        self.check()
        pts = self.space.validate(points)
        u = self.space.to_unit(pts)
        if self.n_points == 0:
            return self.priors.proba(pts)
        return self._predict_proba(u, pts)

    def predict(self, points: Any) -> np.ndarray:
        """Most likely phase name at each point."""
        return np.asarray(self.phases)[self.predict_proba(points).argmax(axis=1)]

    def entropy(self, points: Any) -> np.ndarray:
        """Entropy (nats) of the predicted phase probabilities at ``points``."""
        return entropy(self.predict_proba(points))

    def acquisition(self, points: Any, by: str = "uncertainty") -> np.ndarray:
        """How much evaluating at ``points`` would teach the map: its uncertainty (``by="entropy"``: the
        entropy of its phase probabilities), raised up to 3x near a stated prior boundary (a multiplier,
        so the boost fades once data have settled the boundary there)."""
        check_choice("by", by, ("uncertainty", "entropy"))
        pts = self.space.validate(points)
        base = self.entropy(points) if by == "entropy" else self._uncertainty(pts)
        return base * (1.0 + 2.0 * self.priors.attention(pts))

    def _uncertainty(self, points: np.ndarray) -> np.ndarray:
        return self.entropy(points)

    def phase_map(self, grid_size: int = 64) -> xr.Dataset:
        """The map on a grid: ``proba(phase, *axes)``, ``label``, ``entropy``; boundaries in attrs (JSON)."""
        grid, shape = self._grid(grid_size)
        proba = self.predict_proba(grid)
        axes, coords = self.space.grid_coords(grid_size)
        coords["phase"] = list(self.phases)
        field = proba.reshape(*shape, len(self.phases))
        ds = xr.Dataset(
            {
                "proba": (("phase", *axes), np.moveaxis(field, -1, 0)),
                "label": (axes, np.asarray(self.phases)[field.argmax(axis=-1)]),
                "entropy": (axes, entropy(field)),
            },
            coords=coords,
        )
        for a in self.space.axes:
            ds[a.name].attrs["scale"] = a.scale  # plots and metrics read the axis' scale back
        ds.attrs["space"] = json.dumps(self.space.to_dict())
        ds.attrs["grid_size"] = grid_size
        from . import MAPS

        ds.attrs.update(
            {
                "model": MAPS.name_of(self),
                "params": json.dumps(self.params()),
                "n_points": self.n_points,
                "priors": json.dumps(self.priors.to_list()),
            }
        )
        if self.space.ndim <= 2 and axes == self.space.names:
            ds.attrs["boundaries"] = json.dumps(boundaries_from_field(self.space, self.phases, coords, field))
        return ds

    def boundaries(self, grid_size: int = 64, band: float = 0.5) -> list[dict[str, Any]]:
        """Boundary polylines between each pair of neighbouring phases, with an uncertainty band.

        Each entry has ``phases`` (a, b), ``lines`` (polylines, user units, where
        ``p_a = p_b``) and ``band`` (polylines where ``|p_a - p_b| = band``: the
        band's edges). In 1-D spaces the lines are single points.
        """
        if self.space.ndim > 2 or self.space.unit_ndim != self.space.ndim:
            raise ValueError(f"boundary polylines are traced in 1-D and 2-D boxes, not in {self.space!r}")
        grid, shape = self._grid(grid_size)
        coords = self.space.grid_coords(grid_size)[1]
        field = self.predict_proba(grid).reshape(*shape, len(self.phases))
        return boundaries_from_field(self.space, self.phases, coords, field, band)

    # ------------------------------------------------------------ save / load
    def to_dict(self) -> dict[str, Any]:
        """The map's name, space, phases, parameters, priors and training data (:func:`map_from_dict` refits it)."""
        from . import MAPS

        fitted = self.n_points > 0
        return {
            "model": MAPS.name_of(self),
            "space": self.space.to_dict(),
            "phases": list(self.phases),
            "params": self.params(),
            "priors": self.priors.to_list(),
            "points": self.points_.tolist() if fitted else [],
            "proba": self.proba_.tolist() if fitted else [],
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the map (parameters, priors, training data) as JSON; :func:`load_map` refits it."""
        write_atomically(path, lambda tmp: tmp.write_text(json.dumps(self.to_dict())))

    # ------------------------------------------------------------- internals
    @abstractmethod
    def _fit(self, u: np.ndarray, proba: np.ndarray) -> None:
        """Fit on unit-cube points ``u`` and normalised probabilities."""

    @abstractmethod
    def _predict_proba(self, u: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Probabilities at unit-cube points ``u`` (``points`` in user units, for the priors)."""

    def _grid(self, grid_size: int) -> tuple[np.ndarray, tuple[int, ...]]:
        check_positive_int("grid_size", grid_size, 2)
        return self.space.grid(grid_size), self.space.grid_shape(grid_size)

    def _html_repr(self) -> str:
        """scikit-learn's HTML repr, then a table of what the map holds: points, priors, phases."""
        from sklearn.utils import estimator_html_repr

        rows = [
            ("axes", ", ".join(f"{a.name} [{a.low:g}, {a.high:g}]" for a in self.space.axes)),
            ("phases", ", ".join(map(str, self.phases))),
            ("fitted on", f"{self.n_points} points"),
            ("priors", str(len(self.priors))),
        ]
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return estimator_html_repr(self) + f"<table>{body}</table>"


def boundaries_from_field(
    space: Space, phases: Sequence[str], coords: dict[str, Any], field: np.ndarray, band: float = 0.5
) -> list[dict[str, Any]]:
    """Boundary polylines of a gridded probability field ``(*shape, n_phases)`` (see :meth:`PhaseMap.boundaries`)."""
    if not 0 < band < 1:
        raise ValueError(f"band must be in (0, 1), got {band!r}")
    order = np.argsort(field, axis=-1)
    first, second = order[..., -1], order[..., -2]
    out = []
    for a in range(len(phases)):
        for b in range(a + 1, len(phases)):
            top_two = ((first == a) & (second == b)) | ((first == b) & (second == a))
            if not top_two.any():
                continue
            z = np.where(top_two, field[..., a] - field[..., b], np.nan)
            levels = {"lines": 0.0, "band_a": band, "band_b": -band}
            traced = {key: _level_set(space, coords, z, level) for key, level in levels.items()}
            if traced["lines"]:
                out.append(
                    {
                        "phases": [phases[a], phases[b]],
                        "lines": traced["lines"],
                        "band": traced["band_a"] + traced["band_b"],
                    }
                )
    return out


def _level_set(space: Space, coords: dict[str, Any], z: np.ndarray, level: float) -> list[list[list[float]]]:
    names = space.names
    if space.ndim == 1:
        x = np.asarray(coords[names[0]], dtype=float)
        crossings = []
        for i in range(len(x) - 1):
            z0, z1 = z[i] - level, z[i + 1] - level
            if np.isfinite(z0) and np.isfinite(z1) and z0 * z1 < 0:
                crossings.append([[float(x[i] + (x[i + 1] - x[i]) * z0 / (z0 - z1))]])
        return crossings
    import contourpy

    x, y = (np.asarray(coords[n], dtype=float) for n in names)
    gen = contourpy.contour_generator(y, x, np.ma.masked_invalid(z), line_type="Separate")  # z is indexed [x, y]
    return [np.asarray(seg)[:, ::-1].tolist() for seg in gen.lines(level) if len(seg) >= 2]
