"""Labelers for the phases of training: runs of SGD sorted by what their weights did."""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_number, check_positive_int
from .._types import Samples
from ..systems._gan import GANParticles
from ..systems._perceptron import PerceptronSGD
from ..systems._sgd import K_HIDDEN, L_HIDDEN, SGDTeacherStudent
from ._base import Labeler

__all__ = ["RunShareLabeler", "SGDPhaseLabeler", "PerceptronPhaseLabeler", "GANPhaseLabeler"]


class RunShareLabeler(Labeler):
    """Labels each training run on its own; a phase's probability is its share of the runs, each count plus a half.

    The half keeps few runs from giving certain labels. Subclasses implement :meth:`run_labels` and list the
    observables they read in ``needs``; ``min_runs`` refuses to label a point from fewer runs.
    """

    needs: tuple[str, ...] = ()

    def __init__(self, *, min_runs: int = 1) -> None:
        self.min_runs = check_positive_int("min_runs", min_runs)

    def run_labels(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        """The phase index of each run (indices into ``phases``)."""
        raise NotImplementedError

    def _observables(self, samples: Samples) -> dict[str, np.ndarray]:
        missing = [k for k in self.needs if k not in samples.observables]
        if missing:
            raise ValueError(f"samples lack the observables {missing} ({type(self).__name__} reads them)")
        return {k: np.asarray(samples.observables[k], dtype=float) for k in self.needs}

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        labels = self.run_labels(samples, point)
        if labels.size < self.min_runs:
            raise ValueError(f"min_runs: {labels.size} runs at this point, fewer than {self.min_runs}")
        counts = np.bincount(labels, minlength=len(self.phases)).astype(float)
        return (counts + 0.5) / (labels.size + 0.5 * len(self.phases))


class SGDPhaseLabeler(RunShareLabeler):
    """Ferro, para, spin glass or divergent for the runs of :class:`~phasemapper.systems.SGDTeacherStudent`.

    Each run is labelled on its own, then the probabilities are the shares of the runs (each count plus a
    half, so that few runs give soft labels):

    - ``divergent``: the run diverged;
    - ``para``: noise beats drift in the Langevin (Dyson Brownian motion) criterion of Park, Lucini & Aarts
      (arXiv:2509.01349; their notebook's ``K_t / sqrt(r) / (K - 1) >= T V_t / sigma_w^2 / 4`` with
      ``r = 32 / 16``), i.e. ``drift / sqrt(r) / (K - 1) < T noise / (4 sigma_w^2)``;
    - otherwise ``ferro`` when the final features align with the teacher's field more than they overlap
      with their own start (``alignment > q``), else ``spin_glass`` (features frozen near their random start).

    The point supplies ``T`` and ``sigma_w``. ``min_runs`` refuses to label a point from fewer runs.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Samples
    >>> from phasemapper.labelers import SGDPhaseLabeler
    >>> obs = {"diverged": np.zeros(3), "drift": np.ones(3), "noise": np.zeros(3),
    ...        "alignment": np.array([0.5, 0.5, 0.1]), "q": np.array([0.1, 0.1, 0.9])}
    >>> SGDPhaseLabeler().proba(Samples(np.zeros((3, 1)), obs), np.array([0.1, 1.0])).round(3).tolist()
    [0.5, 0.1, 0.3, 0.1]
    """

    phases = SGDTeacherStudent.phases
    needs = ("diverged", "drift", "noise", "alignment", "q")

    def run_labels(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        """The phase index of each run (indices into ``phases``)."""
        obs = self._observables(samples)
        T, sigma_w = float(point[0]), float(point[1])
        drift_wins = obs["drift"] / math.sqrt(L_HIDDEN / K_HIDDEN) / (K_HIDDEN - 1) >= T * obs["noise"] / (
            4.0 * sigma_w**2
        )
        ferro, para, glass, divergent = (self.phases.index(p) for p in ("ferro", "para", "spin_glass", "divergent"))
        labels = np.where(obs["alignment"] > obs["q"], ferro, glass)
        labels = np.where(drift_wins, labels, para)
        return np.where(np.asarray(obs["diverged"]) > 0, divergent, labels)


class PerceptronPhaseLabeler(RunShareLabeler):
    """Lazy or feature learning, with or without SGD noise, for the runs of :class:`~phasemapper.systems.PerceptronSGD`.

    A run learns features when its weights moved by more than their initial norm (``rel_change > 1``), and is
    lazy otherwise (Sclocchi, Geiger & Wyart 2023). SGD noise changed its trained model when its weights differ
    from those of its replica at ``T / cold_factor`` by more than the geometric middle of no change and of
    weights that grow as ``T``: ``norm_ratio > sqrt(cold_factor)``. A replica that did not fit within the
    system's ``max_steps`` counts as gradient descent: where noise dominates, the steps to fit do not grow as
    ``T`` falls, and near gradient descent they grow as ``1 / T``.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Samples
    >>> from phasemapper.labelers import PerceptronPhaseLabeler
    >>> obs = {"rel_change": np.array([0.1, 3.0, 3.0]), "norm_ratio": np.array([1.0, 1.1, 3.5]),
    ...        "cold_fitted": np.ones(3)}
    >>> PerceptronPhaseLabeler().proba(Samples(np.zeros((3, 1)), obs), np.array([1.0, 1.0])).round(3).tolist()
    [0.3, 0.3, 0.1, 0.3]
    """

    phases = PerceptronSGD.phases
    needs = ("rel_change", "norm_ratio", "cold_fitted")

    def __init__(self, *, cold_factor: float = 4.0, min_runs: int = 1) -> None:
        super().__init__(min_runs=min_runs)
        self.cold_factor = check_number("cold_factor", cold_factor, low=1.0, low_open=True)

    def run_labels(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        """The phase index of each run (indices into ``phases``)."""
        obs = self._observables(samples)
        feature = obs["rel_change"] > 1.0
        noisy = (obs["cold_fitted"] > 0) & (obs["norm_ratio"] > math.sqrt(self.cold_factor))
        return feature.astype(np.int64) + 2 * noisy.astype(np.int64)


class GANPhaseLabeler(RunShareLabeler):
    """Covered, collapsed or oscillating, for the runs of :class:`~phasemapper.systems.GANParticles`.

    A run oscillates when its particles still moved, over the last tenth of training, by more than
    ``motion_tol`` of the distance between neighbouring modes, or when its training diverged (it did not
    settle). A settled run has collapsed when its particles cover effectively fewer than half the modes:
    ``exp(entropy) < n_modes / 2``, i.e. ``collapse > ln 2``; otherwise it covers them.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Samples
    >>> from phasemapper.labelers import GANPhaseLabeler
    >>> obs = {"collapse": np.array([0.1, 1.5, 0.1, 0.1]), "motion": np.array([0.05, 0.05, 0.9, 0.0]),
    ...        "diverged": np.array([0.0, 0.0, 0.0, 1.0])}
    >>> GANPhaseLabeler().run_labels(Samples(np.zeros((4, 1)), obs), np.array([0.1, 0.01])).tolist()
    [0, 1, 2, 2]
    """

    phases = GANParticles.phases
    needs = ("collapse", "motion", "diverged")

    def __init__(self, *, motion_tol: float = 0.25, min_runs: int = 1) -> None:
        super().__init__(min_runs=min_runs)
        self.motion_tol = check_number("motion_tol", motion_tol, low=0.0, low_open=True)

    def run_labels(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        """The phase index of each run (indices into ``phases``)."""
        obs = self._observables(samples)
        labels = np.where(obs["collapse"] > math.log(2.0), 1, 0)
        return np.where((obs["motion"] > self.motion_tol) | (obs["diverged"] > 0), 2, labels)
