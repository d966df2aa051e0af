"""numba kernel for the open-boundary TASEP with random-sequential updates."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._rng import below, xoshiro_step

__all__ = ["rate_threshold", "run_records"]

_LOW32 = np.uint64(0xFFFFFFFF)


def rate_threshold(p: float) -> np.uint64:
    """32-bit acceptance threshold of a rate ``p`` in [0, 1]: accept when 32 random bits are below it.

    Examples
    --------
    >>> int(rate_threshold(0.25)), int(rate_threshold(1.0)) == 2**32
    (1073741824, True)
    """
    return np.uint64(min(math.floor(float(p) * 4294967296.0), 4294967296))


@nb.njit(cache=True)
def run_records(
    occ,
    n_records,
    per_record,
    alpha_thr,
    beta_thr,
    state,
    bulk_lo,
    bulk_hi,
    configs,
    density,
    bulk_density,
    current,
    store,
):
    """``n_records`` blocks of ``per_record`` units of time, each ``L + 1`` attempts at a uniformly chosen bond.

    Bond 0 injects a particle at site 0 with probability alpha if it is empty,
    bond L removes the particle at site L-1 with probability beta, bond k hops a
    particle from k-1 to k. This is the continuous-time process with rates
    alpha, beta and 1 (uniformized), so its stationary state is the master
    equation's. One 64-bit random number per attempt: its high half picks the
    bond (Lemire's multiply-shift), its low half decides the boundary move
    against ``rate_threshold(alpha)`` / ``rate_threshold(beta)``; the RNG state
    stays in registers. After each block: density, density of sites
    ``bulk_lo:bulk_hi``, current (moves per bond per unit time) and, if
    ``store``, the occupations (``configs[k]``). Returns the number of moves.
    """
    L = occ.shape[0]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    total = 0
    for k in range(n_records):
        moves = 0
        for _ in range(per_record * (L + 1)):
            r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            bond = below(r, L + 1)
            u = r & _LOW32
            if bond == 0:
                if occ[0] == 0 and u < alpha_thr:
                    occ[0] = 1
                    moves += 1
            elif bond == L:
                if occ[L - 1] == 1 and u < beta_thr:
                    occ[L - 1] = 0
                    moves += 1
            else:  # branch-free hop: the occupations of a random bond are unpredictable
                hop = occ[bond - 1] & (1 - occ[bond])
                occ[bond - 1] -= hop
                occ[bond] += hop
                moves += hop
        filled = 0
        bulk = 0
        for i in range(L):
            filled += occ[i]
            if bulk_lo <= i < bulk_hi:
                bulk += occ[i]
        density[k] = filled / L
        bulk_density[k] = bulk / (bulk_hi - bulk_lo)
        current[k] = moves / ((L + 1) * max(per_record, 1))
        if store:
            configs[k] = occ
        total += moves
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return total
