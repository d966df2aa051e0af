"""Exact results for the 2-D Ising model used by the tests."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ellipk


def enumerate_ising(L: int, T: float, J: float = 1.0, h: float = 0.0) -> dict[str, float]:
    """Exact <e>, <|m|>, <m^2>, <m> per site on the periodic L x L lattice by summing all 2**(L*L) states."""
    n = L * L
    states = np.arange(2**n, dtype=np.int64)
    spins = (((states[:, None] >> np.arange(n)) & 1) * 2 - 1).astype(np.int8).reshape(-1, L, L)
    bonds = (spins * np.roll(spins, -1, axis=1)).sum(axis=(1, 2)) + (spins * np.roll(spins, -1, axis=2)).sum(axis=(1, 2))
    mag = spins.sum(axis=(1, 2)).astype(float)
    energy = -J * bonds - h * mag
    w = np.exp(-(energy - energy.min()) / T)
    w /= w.sum()
    return {
        "energy": float(w @ energy) / n,
        "abs_m": float(w @ np.abs(mag)) / n,
        "m2": float(w @ mag**2) / n**2,
        "m": float(w @ mag) / n,
    }


def onsager_energy(T: float, J: float = 1.0) -> float:
    """Exact infinite-lattice energy per site (Onsager 1944), u = -J coth(2K)[1 + (2/pi)(2 tanh^2(2K) - 1) K(k)]."""
    K = J / T
    k = 2.0 * math.sinh(2 * K) / math.cosh(2 * K) ** 2
    return -J / math.tanh(2 * K) * (1.0 + 2.0 / math.pi * (2.0 * math.tanh(2 * K) ** 2 - 1.0) * ellipk(k**2))


def yang_magnetization(T: float, J: float = 1.0) -> float:
    """Spontaneous magnetization (C. N. Yang, Phys. Rev. 85, 808 (1952)): (1 - sinh(2J/T)^-4)^(1/8) below Tc."""
    x = 1.0 - math.sinh(2 * J / T) ** -4
    return x**0.125 if x > 0 else 0.0


def secant_temperature(T_low: float, T_high: float, J: float = 1.0) -> float:
    """Where Onsager's energy per site equals its mean over beta between 1/T_high and 1/T_low.

    That mean is the slope of beta * f(beta) between the two temperatures, the energy at which the
    Boltzmann likelihood ratio of ``T_low`` and ``T_high`` is 1 in the thermodynamic limit: where the
    Bayes classifier of samples at the two temperatures changes its answer as L -> infinity.
    """
    from scipy.integrate import quad
    from scipy.optimize import brentq

    b_low, b_high = 1.0 / T_low, 1.0 / T_high
    tc = 2.0 * J / math.log1p(math.sqrt(2.0))
    mean_u = quad(lambda b: onsager_energy(1.0 / b, J), b_high, b_low, points=[1.0 / tc], limit=200)[0] / (b_low - b_high)
    return brentq(lambda t: onsager_energy(t, J) - mean_u, T_low, T_high)
