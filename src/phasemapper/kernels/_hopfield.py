"""numba kernel for Glauber (heat-bath) dynamics of a Hopfield network."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._rng import below, probability_threshold, xoshiro_step

__all__ = ["heatbath_thresholds", "glauber_sweeps"]

#: beyond |2 beta h| = SATURATION the heat-bath choice is certain to within exp(-40) = 4e-18, below the
#: 2**-53 resolution of a double-precision comparison
SATURATION = 40.0


def heatbath_thresholds(beta: float, N: int, p: int) -> tuple[np.ndarray, int]:
    """Heat-bath thresholds by integer field: ``(table, h_max)``.

    With ``N h_i = k`` an integer (:func:`glauber_sweeps`), ``P(s_i = +1) =
    1 / (1 + exp(-2 beta k / N))``; ``table[k + h_max]`` is that probability as a
    ``uint64`` threshold (a 64-bit random number below it chooses +1) for
    ``|k| <= h_max``, and beyond ``h_max`` the sign of ``k`` decides (the choice
    is certain to within ``exp(-40)``). ``beta = inf`` (zero temperature) gives
    ``h_max = 0`` and a coin flip at ``k = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper.kernels._hopfield import heatbath_thresholds
    >>> table, h_max = heatbath_thresholds(1.0, 100, 5)
    >>> float(table[h_max]) / 2**64  # P(+1) at zero field
    0.5
    """
    k_limit = p * N + p  # |N h_i| <= p (N - 1) + p
    h_max = 0 if math.isinf(beta) else min(k_limit, int(math.ceil(SATURATION * N / (2.0 * beta))))
    k = np.arange(-h_max, h_max + 1, dtype=float)
    with np.errstate(over="ignore"):
        p_up = 0.5 if math.isinf(beta) else 1.0 / (1.0 + np.exp(-2.0 * beta * k / N))
    return np.atleast_1d(probability_threshold(p_up)), h_max


@nb.njit(cache=True)
def glauber_sweeps(spins, xi, overlaps, table, h_max, n_sweeps, state, sum_s, sums):
    """Random-sequential Glauber dynamics: ``n_sweeps * N`` updates of uniformly chosen neurons.

    ``P(s_i = +1) = 1 / (1 + exp(-2 beta h_i))`` with the Hebb field
    ``h_i = sum_{j != i} W_ij s_j``, ``W = xi xi^T / N``, read from the thresholds
    ``table, h_max`` of :func:`heatbath_thresholds` (no exponential per update).
    The couplings are never built: with the pattern overlaps ``M = xi^T s``
    (``overlaps``, int64, kept current), ``N h_i = xi_i . M - p s_i``, an exact
    integer, so an update costs ``O(p)`` instead of ``O(N)`` per flip, and no
    ``O(N^2 p)`` matrix is made per sample. ``xi`` is ``int8 (N, p)``. After every
    sweep the spins are added to ``sum_s`` and (overlap with pattern 1, its square,
    energy per neuron ``-(|M|^2 - p N) / 2N^2``) to ``sums``, for time averages.
    Returns the number of flips.
    """
    N, p = xi.shape
    flips = 0
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for _ in range(n_sweeps):
        for _ in range(N):
            bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            i = below(bits, N)
            k = -p * np.int64(spins[i])
            for mu in range(p):
                k += xi[i, mu] * overlaps[mu]
            bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            if k > h_max:
                new = 1
            elif k < -h_max:
                new = -1
            else:
                new = 1 if bits < table[k + h_max] else -1
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
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return flips
