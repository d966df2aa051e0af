"""Labelers from a system's physics: order parameters, TASEP density, Hopfield overlaps."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr

from .._checks import check_number, check_positive_int
from .._types import Samples
from ..systems._hopfield import Hopfield
from ..systems._tasep import TASEP
from ._base import Labeler, bootstrap_fraction

__all__ = ["OrderParameterLabeler", "TasepLabeler", "HopfieldLabeler", "BINDER_CRITICAL_ISING_2D"]

#: Binder cumulant U4 = 1 - <m^4>/(3<m^2>^2) at Tc of the 2-D Ising universality class on periodic
#: square lattices: G. Kamieniarz and H. W. J. Bloete, J. Phys. A 26, 201 (1993).
BINDER_CRITICAL_ISING_2D = 0.61069


def _binder(m: np.ndarray) -> float:
    m2 = np.mean(m * m)
    return float(1.0 - np.mean(m**4) / (3.0 * m2 * m2)) if m2 > 0 else 0.0


def _check_unit_interval(name: str, value: Any) -> float:
    return check_number(name, value, low=0.0, high=1.0, low_open=True, high_open=True)


class OrderParameterLabeler(Labeler):
    """Ordered vs disordered from the Binder cumulant of an order parameter: a finite-size-aware threshold.

    The Binder cumulant ``U4 = 1 - <m^4> / (3 <m^2>^2)`` tends to 2/3 in the
    ordered phase and to 0 in the disordered phase, and takes a universal value
    ``U*`` at the critical point for every lattice size. Thresholding at ``U*``
    therefore puts the label boundary at Tc at every ``L``, where a threshold on
    ``<|m|>`` would drift like ``L^(-beta/nu)``. The probability of the ordered
    phase is the fraction of bootstrap resamples of the samples with ``U4 > U*``,
    so few samples or a point near Tc give an honest, soft label.

    Parameters
    ----------
    observable : str
        The order parameter among the samples' observables (default ``"magnetization"``).
    critical_value : float
        ``U*``; default :data:`BINDER_CRITICAL_ISING_2D` (Ising, Blume-Capel's
        continuous line). For another universality class pass its own value.
    phases : (str, str)
        Names of the ordered and the disordered phase.
    n_boot : int
        Bootstrap resamples.

    Examples
    --------
    >>> from phasemapper.systems import Ising2D
    >>> from phasemapper.labelers import OrderParameterLabeler
    >>> s = Ising2D(L=8).sample([1.5], n_samples=50, seed=0)
    >>> OrderParameterLabeler().proba(s, [1.5, 0.0]).round(2).tolist()
    [1.0, 0.0]
    """

    def __init__(
        self,
        *,
        observable: str = "magnetization",
        critical_value: float = BINDER_CRITICAL_ISING_2D,
        phases: tuple[str, str] = ("ferro", "para"),
        n_boot: int = 200,
    ) -> None:
        if not isinstance(observable, str):
            raise TypeError(f"observable must be a string, got {observable!r}")
        self.observable = observable
        self.critical_value = _check_unit_interval("critical_value", critical_value)
        if len(phases) != 2 or not all(isinstance(p, str) for p in phases):
            raise ValueError(f"phases must be two names (ordered, disordered), got {phases!r}")
        self.phases = tuple(phases)
        self.n_boot = check_positive_int("n_boot", n_boot, 10)

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        if self.observable not in samples.observables:
            raise ValueError(
                f"observable {self.observable!r} is not among the samples' observables {sorted(samples.observables)}"
            )
        m = np.asarray(samples.observables[self.observable], dtype=float)
        u = bootstrap_fraction(_binder, [m], self.n_boot, seed=0)
        ordered = (np.sum(u > self.critical_value) + 0.5) / (self.n_boot + 1.0)
        return np.array([ordered, 1.0 - ordered])


class TasepLabeler(Labeler):
    """Low density, high density or maximal current from the bulk density of an open TASEP.

    In the bulk, the density is ``alpha < 1/2`` (low density), ``1 - beta > 1/2``
    (high density) or ``1/2`` (maximal current) (Derrida et al. 1993). The
    label compares the mean bulk density with ``1/2 +- tolerance``; the
    probabilities come from a normal model of that mean with the samples'
    standard error, so points on the first-order line ``alpha = beta`` (where
    a domain wall wanders through the bulk) get soft labels.

    Parameters
    ----------
    tolerance : float, optional
        Half-width of the maximal-current density window. Finite-size bulk
        densities in the maximal-current phase deviate from 1/2 by ``O(L^-1/2)``;
        the default ``0.35 / sqrt(L)`` (L from the configurations) was set from
        measured deviations at L = 50-200 (up to 0.04 at L = 100).
    observable : str
        The density observable (default ``"bulk_density"``).

    Examples
    --------
    >>> from phasemapper.systems import TASEP
    >>> from phasemapper.labelers import TasepLabeler
    >>> s = TASEP(L=50).sample([0.2, 0.8], n_samples=20, seed=0)
    >>> int(TasepLabeler().proba(s, [0.2, 0.8]).argmax())
    0
    """

    phases = TASEP.phases

    def __init__(self, *, tolerance: float | None = None, observable: str = "bulk_density") -> None:
        self.tolerance = None if tolerance is None else _check_unit_interval("tolerance", tolerance)
        self.observable = observable

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        rho = np.asarray(samples.observables[self.observable], dtype=float)
        tol = self.tolerance if self.tolerance is not None else 0.35 / math.sqrt(samples.configurations.shape[-1])
        mean = rho.mean()
        se = max(rho.std(ddof=1) / math.sqrt(len(rho)) if len(rho) > 1 else 0.0, 1e-3)
        low = ndtr((0.5 - tol - mean) / se)
        high = ndtr((mean - 0.5 - tol) / se)
        return np.array([low, high, max(1.0 - low - high, 0.0)]) + 1e-6


class HopfieldLabeler(Labeler):
    """Retrieval, spin glass or paramagnet from a Hopfield network's overlaps.

    Retrieval when the overlap with the stored pattern exceeds
    ``overlap_threshold`` (AGS retrieval states have m > 0.9 at low T and
    jump to 0 at T_M); otherwise spin glass when the Edwards-Anderson
    parameter ``q`` (of the time-averaged spins) exceeds ``q_threshold``, else
    paramagnet. Probabilities are bootstrap fractions over the samples.

    Examples
    --------
    >>> from phasemapper.systems import Hopfield
    >>> from phasemapper.labelers import HopfieldLabeler
    >>> s = Hopfield(N=200).sample([0.05, 0.2], n_samples=8, seed=0)
    >>> int(HopfieldLabeler().proba(s, [0.05, 0.2]).argmax())
    0
    """

    phases = Hopfield.phases

    def __init__(self, *, overlap_threshold: float = 0.5, q_threshold: float = 0.15, n_boot: int = 200) -> None:
        self.overlap_threshold = _check_unit_interval("overlap_threshold", overlap_threshold)
        self.q_threshold = _check_unit_interval("q_threshold", q_threshold)
        self.n_boot = check_positive_int("n_boot", n_boot, 10)

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        m = np.abs(np.asarray(samples.observables["overlap"], dtype=float))
        q = np.asarray(samples.observables["q"], dtype=float)
        stats = bootstrap_fraction(lambda a, b: (a.mean(), b.mean()), [m, q], self.n_boot, seed=0)
        retrieval = stats[:, 0] > self.overlap_threshold
        glass = ~retrieval & (stats[:, 1] > self.q_threshold)
        counts = np.array([retrieval.sum(), glass.sum(), (~retrieval & ~glass).sum()], dtype=float)
        return (counts + 0.5) / (self.n_boot + 1.5)
