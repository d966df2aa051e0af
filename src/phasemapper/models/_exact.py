"""Exact distributions over every configuration of small systems, in the order of :func:`all_states`."""

from __future__ import annotations

import numpy as np

from .._checks import check_number, check_positive_int
from ._rbm import MAX_EXACT_VISIBLE, all_states

__all__ = ["ising_distribution", "tasep_distribution", "state_index"]


def state_index(bits: np.ndarray) -> np.ndarray:
    """The index in :func:`all_states` of each row of bits (most significant first).

    Examples
    --------
    >>> state_index(np.array([[0, 0, 1], [1, 1, 0]])).tolist()
    [1, 6]
    """
    bits = np.asarray(bits).astype(np.int64)
    return bits @ (1 << np.arange(bits.shape[1] - 1, -1, -1, dtype=np.int64))


def ising_distribution(L: int, T: float, J: float = 1.0, h: float = 0.0) -> np.ndarray:
    """The Boltzmann distribution of the L x L periodic Ising model ``H = -J sum s_i s_j - h sum s_i`` over
    all ``2^(L*L)`` configurations: site ``(i, j)`` is unit ``i * L + j`` of :func:`all_states`, bit 1 is
    spin +1.

    Examples
    --------
    >>> p = ising_distribution(3, 1.0)
    >>> p.shape, bool(abs(p.sum() - 1) < 1e-12), bool(p[0] == p[-1] == p.max())   # the two ground states
    ((512,), True, True)
    """
    check_positive_int("L", L, 3)
    if L * L > MAX_EXACT_VISIBLE:
        raise ValueError(f"L: exact enumeration is limited to {MAX_EXACT_VISIBLE} sites, got L = {L}")
    check_number("T", T, low=0, low_open=True)
    s = 2 * all_states(L * L).reshape(-1, L, L) - 1
    bonds = (s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)).sum(axis=(1, 2))
    log_w = (J * bonds + h * s.sum(axis=(1, 2))) / T
    p = np.exp(log_w - log_w.max())
    return p / p.sum()


def tasep_distribution(L: int, alpha: float, beta: float) -> np.ndarray:
    """The stationary distribution of the open TASEP on ``L`` sites over all ``2^L`` occupations (site ``i``
    is unit ``i`` of :func:`all_states`; particles enter at site 0 at rate ``alpha``, hop right at rate 1
    and leave site ``L - 1`` at rate ``beta``): the null vector of the master equation's generator.

    Examples
    --------
    >>> p = tasep_distribution(4, 0.3, 0.7)
    >>> bool(abs(p.sum() - 1) < 1e-12), bool((p > 0).all())
    (True, True)
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    check_positive_int("L", L, 2)
    if L > MAX_EXACT_VISIBLE:
        raise ValueError(f"L: exact enumeration is limited to {MAX_EXACT_VISIBLE} sites, got {L}")
    check_number("alpha", alpha, low=0, low_open=True)
    check_number("beta", beta, low=0, low_open=True)
    n = 1 << L
    state = np.arange(n)
    occupied = (state[:, None] >> np.arange(L - 1, -1, -1)) & 1  # column i: site i
    sources, targets, rates = [], [], []

    def add(where: np.ndarray, new_state: np.ndarray, rate: float) -> None:
        sources.append(state[where])
        targets.append(new_state[where])
        rates.append(np.full(int(where.sum()), rate))

    add(occupied[:, 0] == 0, state | (1 << (L - 1)), alpha)
    add(occupied[:, L - 1] == 1, state & ~1, beta)
    for i in range(L - 1):
        bit_i, bit_next = 1 << (L - 1 - i), 1 << (L - 2 - i)
        add((occupied[:, i] == 1) & (occupied[:, i + 1] == 0), (state & ~bit_i) | bit_next, 1.0)
    src, dst, rate = (np.concatenate(v) for v in (sources, targets, rates))
    outflow = np.bincount(src, weights=rate, minlength=n)
    # stationarity, Q^T p = 0 with Q[s, t] the rate s -> t; the last equation is replaced by sum(p) = 1
    rows = np.concatenate([dst, state])
    cols = np.concatenate([src, state])
    values = np.concatenate([rate, -outflow])
    keep = rows != n - 1
    rows, cols, values = rows[keep], cols[keep], values[keep]
    rows = np.concatenate([rows, np.full(n, n - 1)])
    cols = np.concatenate([cols, state])
    values = np.concatenate([values, np.ones(n)])
    system = coo_matrix((values, (rows, cols)), shape=(n, n)).tocsc()
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    p = np.clip(spsolve(system, rhs), 0.0, None)
    return p / p.sum()
