"""numba kernel for Glauber (heat-bath) dynamics of a Hopfield network."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._rng import next_below, next_double

__all__ = ["glauber_sweeps"]


@nb.njit(cache=True)
def glauber_sweeps(spins, xi, overlaps, beta, n_sweeps, state, sum_s, sums):
    """Random-sequential Glauber dynamics: ``n_sweeps * N`` updates of uniformly chosen neurons.

    ``P(s_i = +1) = 1 / (1 + exp(-2 beta h_i))`` with the Hebb field
    ``h_i = sum_{j != i} W_ij s_j``, ``W = xi xi^T / N``; ``beta = inf`` is
    zero-temperature dynamics (ties at random). The couplings are never built:
    with the pattern overlaps ``M = xi^T s`` (``overlaps``, int64, kept current),
    ``N h_i = xi_i . M - p s_i``, an exact integer, so an update costs ``O(p)``
    instead of ``O(N)`` per flip, and no ``O(N^2 p)`` matrix is made per sample.
    ``xi`` is ``int8 (N, p)``. After every sweep the spins are added to ``sum_s``
    and (overlap with pattern 1, its square, energy per neuron
    ``-(|M|^2 - p N) / 2N^2``) to ``sums``, for time averages. Returns the number of flips.
    """
    N, p = xi.shape
    flips = 0
    for _ in range(n_sweeps):
        for _ in range(N):
            i = next_below(state, N)
            h = -p * np.int64(spins[i])
            for mu in range(p):
                h += xi[i, mu] * overlaps[mu]
            if math.isinf(beta):
                new = 1 if h > 0 else (-1 if h < 0 else (1 if next_double(state) < 0.5 else -1))
            else:
                new = 1 if next_double(state) * (1.0 + math.exp(-2.0 * beta * h / N)) < 1.0 else -1
            if new != spins[i]:
                for mu in range(p):
                    overlaps[mu] += 2 * new * xi[i, mu]
                spins[i] = new
                flips += 1
        norm2 = 0
        for mu in range(p):
            norm2 += overlaps[mu] * overlaps[mu]
        for j in range(N):
            sum_s[j] += spins[j]
        m = overlaps[0] / N
        sums[0] += m
        sums[1] += m * m
        sums[2] += -0.5 * (norm2 - p * N) / (N * N)
    return flips
