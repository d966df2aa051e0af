"""Restrict any planner to a finite set of candidates: the samples of a library."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ._base import Planner, nearest_distinct

__all__ = ["Pool"]


class Pool(Planner):
    """Any planner, asked only for candidates not yet told or pending (a library's unmeasured samples).

    A planner that can score given points (:class:`Boundary`, :class:`Entropy`: ``ask_among``)
    scores the free candidates themselves; any other (``Sobol``, ``Random``, ``Grid``) is asked for
    points, each moved to the nearest free candidate. Told and pending points are passed on to
    the planner, so its map learns from them; it never asks a point twice.

    Parameters
    ----------
    planner : Planner
        The planner to restrict; its space is the pool's.
    candidates : array (n, ndim)
        The points that can be evaluated (user units), distinct.

    Examples
    --------
    >>> from phasemapper import Simplex
    >>> from phasemapper.planners import Pool, Sobol
    >>> space = Simplex(["Fe", "Ga", "Pd"])
    >>> library = space.grid(6)
    >>> pool = Pool(Sobol(space, seed=0), library)
    >>> first = pool.ask(20)
    >>> len(pool.ask(5)), len(pool.ask(5))  # 21 samples: one left, then none
    (1, 0)
    """

    context_params: ClassVar[tuple[str, ...]] = ("planner", "candidates")

    def __init__(self, planner: Planner, candidates: Any) -> None:
        if not isinstance(planner, Planner):
            raise TypeError(f"planner must be a phasemapper.planners.Planner, got {type(planner).__name__}")
        super().__init__(planner.space, seed=planner.seed)
        self.planner = planner
        pts = planner.space.validate(candidates)
        if len(pts) == 0:
            raise ValueError("candidates: a pool needs at least one candidate point")
        keys = [self.key(p) for p in pts]
        if len(set(keys)) != len(keys):
            raise ValueError("candidates: the same point is given twice")
        self.candidates = pts

    def tell(self, points: Any, proba: Any) -> None:
        super().tell(points, proba)
        self.planner.tell(points, proba)

    def tell_pending(self, points: Any) -> None:
        super().tell_pending(points)
        self.planner.tell_pending(points)

    def steering_map(self) -> Any:
        return self.planner.steering_map()

    def fitted_map(self) -> Any:
        return self.planner.fitted_map()

    def free(self) -> np.ndarray:
        """Candidates neither told nor pending."""
        taken = set(self._told) | set(self._pending)
        return self.candidates[[self.key(c) not in taken for c in self.candidates]]

    def _ask(self, n: int) -> np.ndarray:
        free = self.free()
        if not len(free):
            return np.empty((0, self.space.ndim))
        if hasattr(self.planner, "ask_among"):
            return self.planner.ask_among(free, n)
        return nearest_distinct(self.space, self.planner.ask(min(n, len(free)), tell_pending=False), free)

    def to_dict(self) -> dict[str, Any]:
        """The inner planner's record, with the candidates."""
        return {**self.planner.to_dict(), "pool": self.candidates.tolist()}
