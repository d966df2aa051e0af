"""Labelers that read labels the system already returns, or a fitted detector's critical points."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr

from .._types import CriticalPoint, Samples
from ._base import Labeler

__all__ = ["DirectLabeler", "DetectorLabeler"]


class DirectLabeler(Labeler):
    """Phase probabilities straight from a system that returns labels (``FunctionSystem``, experiments).

    Averages the per-sample ``proba_<phase>`` observables when present, else
    counts the per-sample ``label`` indices. No smoothing: a noisy label stays
    noisy, and the phase-map model is what absorbs label noise.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Samples
    >>> from phasemapper.labelers import DirectLabeler
    >>> s = Samples(np.zeros((4, 0)), {"label": np.array([0.0, 0.0, 1.0, 0.0])})
    >>> DirectLabeler(["a", "b"])(s, [0.0]).tolist()
    [0.75, 0.25]
    """

    def __init__(self, phases: Sequence[str]) -> None:
        phases = tuple(phases)
        if len(phases) < 2 or len(set(phases)) != len(phases) or not all(isinstance(p, str) for p in phases):
            raise ValueError(f"phases: a phase map needs at least two distinct phase names, got {phases!r}")
        self.phases = phases

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        obs = samples.observables
        if all(f"proba_{p}" in obs for p in self.phases):
            return np.array([np.mean(obs[f"proba_{p}"]) for p in self.phases])
        if "label" not in obs:
            raise ValueError(f"samples carry neither a 'label' nor 'proba_<phase>' observables (have {sorted(obs)})")
        labels = np.asarray(obs["label"]).astype(int)
        if labels.min() < 0 or labels.max() >= len(self.phases):
            raise ValueError(f"label index {labels.max()} is outside the {len(self.phases)} phases {self.phases}")
        return np.bincount(labels, minlength=len(self.phases)).astype(float)


class DetectorLabeler(Labeler):
    """Label points by which side of a detector's critical points they lie on.

    Takes the ``critical_points_`` of a fitted detector (or any list of
    :class:`~phasemapper.CriticalPoint`) along one axis, interpolates the
    critical value along the other axis when the estimates are spread over it
    (``at``), and returns ``P(below) = Phi((x_c - x) / sigma)`` with the
    estimate's own uncertainty as ``sigma``: a detector trained once on a scan
    labels every later point without new training.

    Parameters
    ----------
    critical_points : list of CriticalPoint or a fitted detector
        Estimates along ``axis``; a detector is read through its ``critical_points_``.
    axis_index : int
        Column of the point that the estimates lie along.
    phases : (str, str)
        Phase below and above the critical value.
    other_index : int, optional
        Column of the axis the estimates' ``at`` values refer to (2-D spaces).

    Examples
    --------
    >>> from phasemapper import CriticalPoint
    >>> from phasemapper.labelers import DetectorLabeler
    >>> lab = DetectorLabeler([CriticalPoint("T", 2.27, 0.01, "confusion")], 0, ("ferro", "para"))
    >>> lab.proba(None, [2.0]).round(3).tolist()
    [1.0, 0.0]
    """

    param_attributes = {"critical_points": "_critical_points"}

    def __init__(
        self, critical_points: Any, axis_index: int, phases: tuple[str, str], *, other_index: int | None = None
    ) -> None:
        cps = getattr(critical_points, "critical_points_", critical_points)
        if not isinstance(cps, Sequence) or not cps or not all(isinstance(c, CriticalPoint) for c in cps):
            raise ValueError("critical_points must be a fitted detector or a non-empty list of CriticalPoint")
        if len(phases) != 2:
            raise ValueError(f"phases must be two names (below, above), got {phases!r}")
        axis = cps[0].axis
        cps = [c for c in cps if c.axis == axis and np.isfinite(c.value)]
        self.axis_index, self.other_index, self.phases = int(axis_index), other_index, tuple(phases)
        if other_index is not None and len(cps) > 1:
            other = next(iter(cps[0].at or {}), None)
            if other is None:
                raise ValueError("critical points need 'at' values to interpolate along a second axis")
            cps = sorted(cps, key=lambda c: c.at[other])
            self._at: np.ndarray | None = np.array([c.at[other] for c in cps])
        else:
            cps, self._at = cps[:1], None
        self._value = np.array([c.value for c in cps])
        self._sigma = np.array(
            [c.uncertainty if np.isfinite(c.uncertainty) and c.uncertainty > 0 else 1e-9 for c in cps]
        )
        self._critical_points = cps

    def proba(self, samples: Samples | None, point: np.ndarray) -> np.ndarray:
        point = np.asarray(point, dtype=float).ravel()
        if self._at is None:
            xc, sigma = self._value[0], self._sigma[0]
        else:
            y = point[self.other_index]
            xc, sigma = np.interp(y, self._at, self._value), np.interp(y, self._at, self._sigma)
        below = float(ndtr((xc - point[self.axis_index]) / sigma))
        return np.array([below, 1.0 - below]) + 1e-9
