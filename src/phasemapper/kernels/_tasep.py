"""numba kernel for the open-boundary TASEP with random-sequential updates."""

from __future__ import annotations

import numba as nb

from ._rng import next_below, next_u64

__all__ = ["random_sequential"]


@nb.njit(cache=True)
def random_sequential(occ, n_steps, alpha_thr, beta_thr, state):
    """``n_steps`` units of time, each ``L + 1`` attempts at a uniformly chosen bond.

    Bond 0 injects a particle at site 0 with probability alpha if it is empty,
    bond L removes the particle at site L-1 with probability beta, bond k hops a
    particle from k-1 to k. This is the continuous-time process with rates
    alpha, beta and 1 (uniformized), so its stationary state is the master
    equation's. Returns the number of moves (entries + hops + exits).
    """
    L = occ.shape[0]
    moves = 0
    for _ in range(n_steps * (L + 1)):
        k = next_below(state, L + 1)
        if k == 0:
            if occ[0] == 0 and next_u64(state) < alpha_thr:
                occ[0] = 1
                moves += 1
        elif k == L:
            if occ[L - 1] == 1 and next_u64(state) < beta_thr:
                occ[L - 1] = 0
                moves += 1
        elif occ[k - 1] == 1 and occ[k] == 0:
            occ[k - 1] = 0
            occ[k] = 1
            moves += 1
    return moves
