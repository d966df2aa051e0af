"""A k-nearest-neighbours phase map: the simple baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_positive_int
from .._space import Space
from ._base import PhaseMap

__all__ = ["KNNMap"]


class KNNMap(PhaseMap):
    """Distance-weighted average of the ``k`` nearest observations' phase probabilities (unit-cube metric).

    Uses scikit-learn's ``KNeighborsRegressor`` on the probability vectors.
    A prior is mixed in with weight ``certainty * k`` pseudo-observations, so
    it decides where data are sparse and fades where they are dense.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.maps import KNNMap
    >>> space = Space([Axis("x", 0, 1)])
    >>> m = KNNMap(space, ["a", "b"], k=3).fit([[0.1], [0.2], [0.3], [0.7], [0.8], [0.9]], [0, 0, 0, 1, 1, 1])
    >>> m.predict([[0.15], [0.85]]).tolist()
    ['a', 'b']
    """

    def __init__(self, space: Space, phases: Sequence[str], *, k: int = 7) -> None:
        super().__init__(space, phases)
        self.k = k

    def _check_params(self) -> None:
        check_positive_int("k", self.k, maximum=100_000)

    def _fit(self, u: np.ndarray, proba: np.ndarray) -> None:
        from sklearn.neighbors import KNeighborsRegressor

        self.model_ = KNeighborsRegressor(n_neighbors=min(self.k, len(u)), weights="distance").fit(u, proba)
        # local density scale: typical distance to the k-th neighbour
        dist, _ = self.model_.kneighbors(u)
        self.scale_ = float(np.median(dist[:, -1])) if len(u) > 1 else 1.0

    def _predict_proba(self, u: np.ndarray, points: np.ndarray) -> np.ndarray:
        p = self.model_.predict(u)
        q, certainty = self.priors.proba(points), self.priors.certainty(points)
        if certainty.any():
            dist, _ = self.model_.kneighbors(u)
            n_near = np.exp(-dist / max(self.scale_, 1e-12)).sum(axis=1)
            w_prior = certainty * self.k
            p = (n_near[:, None] * p + w_prior[:, None] * q) / (n_near + w_prior)[:, None]
        p = np.clip(p, 0.0, None)
        return p / p.sum(axis=1, keepdims=True)
