"""Small data types shared by every part: samples at one point and critical-point estimates."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CriticalPoint", "Samples"]


@dataclass(frozen=True)
class CriticalPoint:
    """An estimate of a critical point along one axis.

    Parameters
    ----------
    axis : str
        Name of the axis the transition is located on (e.g. ``"T"``).
    value : float
        Estimated location.
    uncertainty : float
        One-standard-deviation uncertainty of ``value`` (``nan`` when unknown).
    method : str
        How it was found, e.g. ``"binder_crossing"``.
    at : dict, optional
        Values of the other axes where it was found, e.g. ``{"h": 0.0}``.

    Examples
    --------
    >>> from phasemapper import CriticalPoint
    >>> cp = CriticalPoint("T", 2.27, 0.01, "binder_crossing")
    >>> cp.covers(2.269185)
    True
    """

    axis: str
    value: float
    uncertainty: float
    method: str
    at: dict[str, float] | None = None

    def covers(self, exact: float, n_sigma: float = 2.0) -> bool:
        """Whether ``exact`` lies within ``n_sigma`` uncertainties of the estimate."""
        return bool(abs(self.value - exact) <= n_sigma * self.uncertainty)

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "value": float(self.value),
            "uncertainty": None if math.isnan(self.uncertainty) else float(self.uncertainty),
            "method": self.method,
            "at": self.at,
        }


@dataclass
class Samples:
    """What a system returns at one point.

    Parameters
    ----------
    configurations : ndarray
        First axis is the sample; the rest are the system's site dims. Built-in
        systems return it C-contiguous (each sample's sites together in memory).
    observables : dict of str to ndarray
        Named scalar observables, each of shape ``(n_samples,)``.
    metadata : dict
        Scalars describing how the samples were drawn (algorithm, sweeps
        between samples, autocorrelation time, acceptance, ...).
    """

    configurations: np.ndarray
    observables: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.configurations.shape[0]
        for name, values in self.observables.items():
            if np.shape(values) != (n,):
                raise ValueError(f"observable {name!r} has shape {np.shape(values)}, expected ({n},)")

    @property
    def n_samples(self) -> int:
        return int(self.configurations.shape[0])
