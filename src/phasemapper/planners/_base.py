"""The Planner contract: ask for points, tell results, mark points pending. No executor, clock or I/O."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from .._checks import check_positive_int, check_seed
from .._params import Parameterized
from .._space import Space

__all__ = ["Planner", "SequencePlanner", "nearest_distinct"]


class Planner(Parameterized, ABC):
    """Decides where to evaluate next, from what it has been told.

    ``ask(n)`` returns up to ``n`` new points (fewer, or none, when the planner
    is waiting for pending results or has nothing left to ask) and by default
    marks them pending; ``tell(points, proba)`` records results. A planner's
    answer depends only on its parameters, its seed and the *set* of told and
    pending points: telling the same data twice, or in another order, changes
    nothing, and a planner rebuilt from a run's ledger asks what the original
    would have asked.
    """

    context_params: ClassVar[tuple[str, ...]] = ("space",)

    def __init__(self, space: Space, *, seed: int = 0) -> None:
        if not isinstance(space, Space):
            raise TypeError(f"space must be a phasemapper.Space, got {type(space).__name__}")
        self.space, self.seed = space, check_seed("seed", seed)
        self._told: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._pending: dict[tuple, np.ndarray] = {}

    # ---------------------------------------------------------------- ask/tell
    def ask(self, n: int, tell_pending: bool = True) -> np.ndarray:
        """Up to ``n`` points ``(k, ndim)`` to evaluate next (user units)."""
        pts = np.asarray(self._ask(check_positive_int("n", n)), dtype=float).reshape(-1, self.space.ndim)
        if tell_pending:
            self.tell_pending(pts)
        return pts

    def tell(self, points: Any, proba: Any) -> None:
        """Record results: ``proba`` is ``(n, n_phases)`` probabilities or ``(n,)`` integer labels."""
        pts = self.space.validate(points)
        values = np.asarray(proba, dtype=float)
        if len(values) != len(pts):
            raise ValueError(f"tell got {len(pts)} points but {len(values)} results")
        for p, v in zip(pts, values):
            k = self.key(p)
            self._told[k] = (p, np.asarray(v))
            self._pending.pop(k, None)

    def tell_pending(self, points: Any) -> None:
        """Mark ``points`` as being evaluated, so they are not asked again."""
        for p in self.space.validate(points) if len(np.atleast_1d(points)) else []:
            k = self.key(p)
            if k not in self._told:
                self._pending[k] = p

    def steering_map(self) -> Any:
        """The :class:`~phasemapper.maps.PhaseMap` this planner steers by, or ``None`` (space-filling planners)."""
        return None

    def fitted_map(self) -> Any:
        """:meth:`steering_map` fitted to everything told so far."""
        raise NotImplementedError(f"{type(self).__name__} steers by no phase map")

    # ------------------------------------------------------------------ state
    @staticmethod
    def key(point: np.ndarray) -> tuple:
        """The identity of a point: its coordinates rounded to 12 significant digits."""
        return tuple(float(f"{x:.12g}") for x in np.asarray(point, dtype=float))

    @property
    def n_told(self) -> int:
        return len(self._told)

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """Told points and results, sorted by point (independent of tell order)."""
        keys = sorted(self._told)
        if not keys:
            return np.empty((0, self.space.ndim)), np.empty((0,))
        return np.array([self._told[k][0] for k in keys]), np.array([self._told[k][1] for k in keys])

    def pending(self) -> np.ndarray:
        keys = sorted(self._pending)
        return np.array([self._pending[k] for k in keys]).reshape(-1, self.space.ndim)

    def to_dict(self) -> dict[str, Any]:
        """The planner's name, space, parameters, told and pending points (:func:`planner_from_dict` rebuilds it)."""
        from . import PLANNERS

        pts, vals = self.data()
        return {
            "planner": PLANNERS.name_of(self),
            "space": self.space.to_dict(),
            "params": self.params(),
            "told": {"points": pts.tolist(), "values": vals.tolist()},
            "pending": self.pending().tolist(),
        }

    def __repr__(self) -> str:
        state = f"told={self.n_told}, pending={len(self._pending)}"
        args = super().__repr__()[:-1]
        return f"{args}{', ' if not args.endswith('(') else ''}{state})"

    @abstractmethod
    def _ask(self, n: int) -> np.ndarray:
        """Up to ``n`` new points, not told and not pending."""


class SequencePlanner(Planner):
    """A planner that walks a fixed, seeded sequence of points, skipping told and pending ones."""

    def _sequence(self, count: int) -> np.ndarray:
        """The first ``count`` points of the sequence (user units); may return fewer if it is finite."""
        raise NotImplementedError

    def _ask(self, n: int) -> np.ndarray:
        taken = set(self._told) | set(self._pending)
        count = max(2 * (len(taken) + n), 16)
        while True:
            seq = self._sequence(count)
            out = [p for p in seq if self.key(p) not in taken][:n]
            if len(out) == n or len(seq) < count:
                return np.array(out).reshape(-1, self.space.ndim)
            count *= 2


def nearest_distinct(space: Space, points: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """For each of ``points`` in turn, the nearest of ``candidates`` not chosen before (unit coordinates)."""
    if not len(points) or not len(candidates):
        return np.empty((0, space.ndim))
    distance = space.distances(points, candidates)
    chosen: list[int] = []
    for row in distance:
        row = row.copy()
        row[chosen] = np.inf
        if np.isfinite(row).any():
            chosen.append(int(np.argmin(row)))
    return np.asarray(candidates)[chosen]
