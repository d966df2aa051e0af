"""The Labeler contract: samples at one point -> probabilities over the phases."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .._params import Parameterized
from .._types import Samples

__all__ = ["Labeler", "bootstrap_fraction"]


class Labeler(Parameterized, ABC):
    """Turns what a system returned at one point into phase probabilities.

    Subclasses set ``phases`` (names, in the order of the returned vector) and
    implement :meth:`proba`. Labelers are small, picklable and pure: the same
    samples give the same probabilities, so a campaign can label in its workers
    and a resumed run labels exactly as the first one did.
    """

    phases: tuple[str, ...] = ()

    @abstractmethod
    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        """Probability of each phase at ``point`` given ``samples``; shape ``(len(phases),)``, sums to 1."""

    def __call__(self, samples: Samples, point: Any) -> np.ndarray:
        p = np.asarray(self.proba(samples, np.asarray(point, dtype=float)), dtype=float)
        if p.shape != (len(self.phases),) or not np.all(np.isfinite(p)) or (p < 0).any():
            raise ValueError(f"{type(self).__name__} returned invalid probabilities {p!r} for phases {self.phases}")
        return p / p.sum()


def bootstrap_fraction(statistic, columns: list[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """Values of ``statistic(*columns)`` over ``n_boot`` bootstrap resamples of the samples (rows).

    Used to turn a point estimate from finitely many samples into a probability:
    the fraction of resamples on one side of a threshold.
    """
    rng = np.random.default_rng(seed)
    n = len(columns[0])
    idx = rng.integers(0, n, size=(n_boot, n))
    return np.array([statistic(*(c[i] for c in columns)) for i in idx])
