"""Exact results for the 2-D Ising model used by the tests."""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=4)
def ising_state_counts(L: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How many configurations of the periodic L x L Ising model (even L <= 6) have magnetization M and bond sum B.

    Exact integer counts by a row-to-row transfer over the 2**L row states, with the first row held fixed so the
    last row can close the torus. Returns ``(M, B, counts)`` with ``counts[i, j]`` configurations at ``M[i]``,
    ``B[j]`` (B = sum over bonds of s_i s_j; the energy is -J B - h M).
    """
    if L % 2 or not 2 <= L <= 6:
        raise ValueError("exact counts are computed for even L <= 6")
    n = L * L
    rows = np.arange(2**L)
    spins = ((rows[:, None] >> np.arange(L)) & 1) * 2 - 1
    m_row = spins.sum(axis=1)
    intra = (spins * np.roll(spins, -1, axis=1)).sum(axis=1)
    inter = spins @ spins.T  # bonds between two stacked rows
    R, nm, nb = len(rows), n + 1, 2 * n + 1  # index M by (M + n) / 2 and B by (B + 2n) / 2
    count = np.zeros((R, R, nm, nb), dtype=np.int64)  # (first row, last row, M, B)
    for s in rows:
        count[s, s, (m_row[s] + n) // 2, (intra[s] + 2 * n) // 2] = 1
    for _ in range(L - 1):
        new = np.zeros_like(count)
        for t in rows:  # the next row
            dm, base = m_row[t] // 2, intra[t]
            for v in np.unique(inter[:, t]):
                block = count[:, inter[:, t] == v].sum(axis=1)  # (first row, M, B)
                db = (base + v) // 2
                new[:, t] += _shift(_shift(block, dm, axis=1), db, axis=2)
        count = new
    total = np.zeros((nm, nb), dtype=np.int64)
    for s0 in rows:  # close the torus: bonds between the last row and the first
        for v in np.unique(inter[:, s0]):
            total += _shift(count[s0, inter[:, s0] == v].sum(axis=0), v // 2, axis=1)
    return 2 * np.arange(nm) - n, 2 * np.arange(nb) - 2 * n, total


def _shift(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """``a`` moved by ``k`` places along ``axis``, zeros shifted in (nothing may fall off the end)."""
    out = np.zeros_like(a)
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    size = a.shape[axis]
    src[axis] = slice(max(0, -k), size - max(0, k))
    dst[axis] = slice(max(0, k), size - max(0, -k))
    assert not a[tuple(slice(None) if i != axis else (slice(size - k, None) if k > 0 else slice(0, -k))
                       for i in range(a.ndim))].any() if k else True
    out[tuple(dst)] = a[tuple(src)]
    return out


def exact_distribution(L: int, T: float, J: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-site magnetization m, per-site energy e and their exact joint Boltzmann probabilities at h = 0."""
    M, B, counts = ising_state_counts(L)
    n = L * L
    logw = np.where(counts > 0, np.log(np.maximum(counts, 1).astype(float)), -np.inf) + (J / T) * B[None, :]
    p = np.exp(logw - logw.max())
    p /= p.sum()
    return M / n, -J * B / n, p


def exact_observables(L: int, T: float, J: float = 1.0) -> dict[str, float]:
    """Exact <|m|>, <m^2>, <m^4>, Binder cumulant, susceptibility N(<m^2> - <|m|>^2)/T and specific heat."""
    m, e, p = exact_distribution(L, T, J)
    n = L * L
    pm, pe = p.sum(axis=1), p.sum(axis=0)
    am, m2, m4 = pm @ np.abs(m), pm @ m**2, pm @ m**4
    e1, e2 = pe @ e, pe @ e**2
    return {"abs_m": am, "m2": m2, "m4": m4, "binder": 1 - m4 / (3 * m2**2),
            "susceptibility": n * (m2 - am**2) / T, "specific_heat": n * (e2 - e1**2) / T**2, "energy": e1}


def sample_exact(L: int, T: float, n_samples: int, rng: np.random.Generator, J: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Independent draws of (m, e) per site from the exact distribution."""
    m, e, p = exact_distribution(L, T, J)
    flat = rng.choice(p.size, size=n_samples, p=p.ravel())
    i, j = np.unravel_index(flat, p.shape)
    return m[i], e[j]


def exact_scan(L: int, temperatures: np.ndarray, n_samples: int, rng: np.random.Generator):
    """A scan Dataset whose samples are independent draws of (m, e) from the exact distribution at each temperature
    (configurations left at zero: only the magnetization and the energy are exact)."""
    import xarray as xr

    m, e = zip(*[sample_exact(L, t, n_samples, rng) for t in temperatures])
    return xr.Dataset({"configuration": (("point", "sample", "y", "x"),
                                         np.zeros((len(temperatures), n_samples, L, L), np.int8)),
                       "magnetization": (("point", "sample"), np.array(m)),
                       "energy": (("point", "sample"), np.array(e))},
                      coords={"T": ("point", np.asarray(temperatures))}, attrs={"size": L, "n_sites": L * L})


def exact_finite_size_answers(small: int = 4, large: int = 6, nu: float = 1.0) -> dict[str, float]:
    """The exact Binder-cumulant crossing of two sizes, and the intercept of the line through their exact
    susceptibility peaks against L^(-1/nu): what ``Observables`` reads from noise-free data."""
    from scipy.optimize import brentq, minimize_scalar

    crossing = brentq(lambda t: exact_observables(large, t)["binder"] - exact_observables(small, t)["binder"], 2.0, 2.6)
    peaks = {L: minimize_scalar(lambda t: -exact_observables(L, t)["susceptibility"], bounds=(2.3, 3.1),
                                method="bounded", options={"xatol": 1e-7}).x for L in (small, large)}
    x = {L: L ** (-1.0 / nu) for L in peaks}
    fss = (x[large] * peaks[small] - x[small] * peaks[large]) / (x[large] - x[small])
    return {"binder_crossing": crossing, "susceptibility_peak_fss": fss}
