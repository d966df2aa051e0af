"""numba kernel for Glauber (heat-bath) dynamics of a Hopfield network."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._rng import next_below, next_double

__all__ = ["glauber_sweeps"]


@nb.njit(cache=True)
def glauber_sweeps(spins, W, fields, beta, n_sweeps, pattern, state, sum_s, sums):
    """Random-sequential Glauber dynamics: ``n_sweeps * N`` updates of uniformly chosen neurons.

    ``P(s_i = +1) = 1 / (1 + exp(-2 beta h_i))`` with ``h_i = sum_j W_ij s_j``
    (``W_ii = 0``); ``beta = inf`` is zero-temperature dynamics (ties at random).
    ``fields`` is kept equal to ``W @ spins``. After every sweep the spins are
    added to ``sum_s`` and (overlap with ``pattern``, its square, energy per
    neuron) to ``sums``, for time averages. Returns the number of flips.
    """
    N = spins.shape[0]
    flips = 0
    for _ in range(n_sweeps):
        for _ in range(N):
            i = next_below(state, N)
            h = fields[i]
            if math.isinf(beta):
                new = 1 if h > 0 else (-1 if h < 0 else (1 if next_double(state) < 0.5 else -1))
            else:
                new = 1 if next_double(state) * (1.0 + math.exp(-2.0 * beta * h)) < 1.0 else -1
            if new != spins[i]:
                delta = 2.0 * new
                for j in range(N):
                    fields[j] += delta * W[j, i]
                spins[i] = new
                flips += 1
        m = 0.0
        e = 0.0
        for j in range(N):
            sum_s[j] += spins[j]
            m += pattern[j] * spins[j]
            e += spins[j] * fields[j]
        m /= N
        sums[0] += m
        sums[1] += m * m
        sums[2] += -0.5 * e / N
    return flips
