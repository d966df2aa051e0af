"""What a theory in the loop provides: a refit to the experiments, and its diagram as the map's prior."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._space import Space

__all__ = ["Theory"]


@runtime_checkable
class Theory(Protocol):
    """A model of the phase diagram whose uncertain parameters a :class:`~phasemapper.Campaign` refits.

    After every batch (and on resume) the campaign calls ``fit(points, proba)`` with every done evaluation,
    then adds ``prior_field(space)`` (keyword arguments of :meth:`phasemapper.maps.Priors.add`) to the map's
    priors and records ``summary()`` in the run's ``theory.json``; when the run stops, ``features()`` joins it. To be rebuilt from a run's manifest a theory
    is registered in :data:`phasemapper.theory.THEORIES` and has ``params()`` and ``from_params(**params)``.
    """

    def fit(self, points: np.ndarray, proba: np.ndarray) -> Any:
        """Refit to the evaluations so far (``proba``: ``(n, n_phases)``)."""
        ...

    def prior_field(self, space: Space) -> dict[str, Any]:
        """The refit diagram over ``space`` as a prior of the phase map."""
        ...

    def summary(self) -> dict[str, Any]:
        """What the refit found (parameters, uncertainties), JSON-ready."""
        ...

    def features(self) -> dict[str, float]:
        """Features of the refit diagram (invariant points), recorded when a run stops."""
        ...
