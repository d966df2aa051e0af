"""Space-filling planners: a uniform grid, scrambled Sobol points, uniform random points."""

from __future__ import annotations

import math

import numpy as np

from .._checks import MAX_COUNT, check_positive_int
from .._space import Space
from ._base import SequencePlanner

__all__ = ["Grid", "Sobol", "Random"]


class Grid(SequencePlanner):
    """Every point of a uniform grid with ``points_per_axis`` points per axis (bounds included), in raster order.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.planners import Grid
    >>> g = Grid(Space([Axis("x", 0, 1), Axis("y", 0, 1)]), points_per_axis=3)
    >>> g.ask(4).tolist()
    [[0.0, 0.0], [0.0, 0.5], [0.0, 1.0], [0.5, 0.0]]
    """

    def __init__(self, space: Space, *, points_per_axis: int = 10, seed: int = 0) -> None:
        super().__init__(space, seed=seed)
        self.points_per_axis = check_positive_int("points_per_axis", points_per_axis, 2)
        size = math.prod(space.grid_shape(self.points_per_axis))
        if size > MAX_COUNT:
            raise ValueError(f"points_per_axis: the grid's size must be <= {MAX_COUNT}, got {size}")

    def _sequence(self, count: int) -> np.ndarray:
        return self.space.grid(self.points_per_axis)


class Sobol(SequencePlanner):
    """Scrambled Sobol points (scipy.stats.qmc), seeded; the sequence extends as far as asked.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.planners import Sobol
    >>> Sobol(Space([Axis("x", 0, 1)]), seed=1).ask(3).shape
    (3, 1)
    """

    def _sequence(self, count: int) -> np.ndarray:
        from scipy.stats import qmc

        sampler = qmc.Sobol(d=self.space.unit_ndim, scramble=True, seed=np.random.default_rng(self.seed))
        return self.space.from_cube(sampler.random_base2(max(1, math.ceil(math.log2(count)))))


class Random(SequencePlanner):
    """Uniform random points (uniform in each axis' scale), seeded; blocks of 1024 from ``default_rng([seed, block])``.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.planners import Random
    >>> Random(Space([Axis("x", 0, 1)]), seed=1).ask(2).shape
    (2, 1)
    """

    _BLOCK = 1024

    def _sequence(self, count: int) -> np.ndarray:
        blocks = [
            np.random.default_rng([self.seed, b]).random((self._BLOCK, self.space.unit_ndim))
            for b in range(math.ceil(count / self._BLOCK))
        ]
        return self.space.from_cube(np.concatenate(blocks))

    def ask_among(self, candidates: np.ndarray, n: int) -> np.ndarray:
        """Up to ``n`` of ``candidates`` drawn uniformly, seeded by ``seed`` and the number told and pending
        (a random order of a library's samples; see :class:`~phasemapper.planners.Pool`)."""
        rng = np.random.default_rng([self.seed, len(self._told) + len(self._pending)])
        return np.asarray(candidates)[rng.permutation(len(candidates))[:n]]
