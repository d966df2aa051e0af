"""Labelers for the phases of training: runs of SGD sorted by what their weights did."""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_positive_int
from .._types import Samples
from ..systems._sgd import K_HIDDEN, L_HIDDEN, SGDTeacherStudent
from ._base import Labeler

__all__ = ["SGDPhaseLabeler"]


class SGDPhaseLabeler(Labeler):
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

    def __init__(self, *, min_runs: int = 1) -> None:
        self.min_runs = check_positive_int("min_runs", min_runs)

    def run_labels(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        """The phase index of each run (indices into ``phases``)."""
        obs = samples.observables
        missing = [k for k in ("diverged", "drift", "noise", "alignment", "q") if k not in obs]
        if missing:
            raise ValueError(f"samples lack the observables {missing} (SGDTeacherStudent's)")
        T, sigma_w = float(point[0]), float(point[1])
        drift_wins = obs["drift"] / math.sqrt(L_HIDDEN / K_HIDDEN) / (K_HIDDEN - 1) >= T * obs["noise"] / (
            4.0 * sigma_w**2
        )
        ferro, para, glass, divergent = (self.phases.index(p) for p in ("ferro", "para", "spin_glass", "divergent"))
        labels = np.where(obs["alignment"] > obs["q"], ferro, glass)
        labels = np.where(drift_wins, labels, para)
        return np.where(np.asarray(obs["diverged"]) > 0, divergent, labels)

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        labels = self.run_labels(samples, point)
        if labels.size < self.min_runs:
            raise ValueError(f"min_runs: {labels.size} runs at this point, fewer than {self.min_runs}")
        counts = np.bincount(labels, minlength=len(self.phases)).astype(float)
        return (counts + 0.5) / (labels.size + 0.5 * len(self.phases))
