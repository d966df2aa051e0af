"""numba kernels for the 2-D Ising model on a periodic L x L square lattice.

Hamiltonian ``H = -J sum_<ij> s_i s_j - h sum_i s_i`` with each bond counted once
(for L = 2 a site's left and right neighbours coincide, so that pair carries two
bonds; the energy, the Metropolis update and the Wolff update all agree on this).

Kernels take plain arrays and an explicit ``uint64[4]`` RNG state; no Python
objects inside. Each run kernel records energy and magnetization (totals, not
per site) after every block of updates, and optionally the configuration.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._lattice import grow_cluster
from ._rng import next_below, probability_threshold, xoshiro_step

__all__ = [
    "metropolis_tables",
    "wolff_threshold",
    "energy_magnetization",
    "run_metropolis",
    "run_wolff",
]

_ALWAYS = np.uint64(0xFFFFFFFFFFFFFFFF)


def metropolis_tables(T: float, J: float, h: float) -> np.ndarray:
    """Acceptance thresholds ``table[5 * (s+1)//2 + (nn+4)//2]`` for flipping spin ``s`` with neighbour sum ``nn``.

    The entry is ``2**64 * exp(-dE/T)`` as ``uint64`` for ``dE > 0`` and
    ``2**64 - 1`` for ``dE <= 0``. The kernel accepts when a fresh 64-bit random
    number is below the entry (branch-free), so a downhill move is accepted with
    probability ``1 - 2**-64``.
    """
    table = np.empty(10, dtype=np.uint64)
    for si, s in enumerate((-1, 1)):
        for ni, nn in enumerate((-4, -2, 0, 2, 4)):
            dE = 2.0 * s * (J * nn + h)
            table[5 * si + ni] = _ALWAYS if dE <= 0 else probability_threshold(math.exp(-dE / T))
    return table


def wolff_threshold(T: float, J: float) -> np.uint64:
    """Bond-activation threshold for ``p_add = 1 - exp(-2 J / T)``."""
    return np.uint64(probability_threshold(-math.expm1(-2.0 * J / T)))


@nb.njit(cache=True)
def energy_magnetization(spins, J, h):
    """Total energy and total magnetization of ``spins`` (int8, L x L)."""
    L = spins.shape[0]
    bond = 0
    mag = 0
    for i in range(L):
        ip = i + 1 if i + 1 < L else 0
        for j in range(L):
            jp = j + 1 if j + 1 < L else 0
            s = np.int64(spins[i, j])
            bond += s * (spins[ip, j] + spins[i, jp])
            mag += s
    return -J * bond - h * mag, float(mag)


@nb.njit(cache=True)
def _metropolis_sweeps(spins, n_sweeps, table, state):
    """``n_sweeps`` checkerboard sweeps (for odd L the same order is still a valid
    sequence of single-site updates). Branch-free accept; RNG state kept in registers."""
    L = spins.shape[0]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    accepted = 0
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                up = i - 1 if i > 0 else L - 1
                down = i + 1 if i + 1 < L else 0
                for j in range((i + parity) & 1, L, 2):
                    s = np.int64(spins[i, j])
                    nn = (
                        np.int64(spins[up, j]) + spins[down, j]
                        + spins[i, j - 1 if j > 0 else L - 1] + spins[i, j + 1 if j + 1 < L else 0]
                    )
                    r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                    flip = np.int64(r < table[5 * ((s + 1) >> 1) + ((nn + 4) >> 1)])
                    spins[i, j] = s - 2 * s * flip
                    accepted += flip
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return accepted


@nb.njit(cache=True)
def run_metropolis(spins, n_records, sweeps_per_record, J, h, table, state, configs, energies, mags, store):
    """Checkerboard Metropolis: ``n_records`` blocks of ``sweeps_per_record`` sweeps.

    Writes totals into ``energies`` and ``mags`` and, if ``store``, the lattice
    into ``configs[k]``. Returns the number of accepted flips.
    """
    accepted = 0
    for k in range(n_records):
        accepted += _metropolis_sweeps(spins, sweeps_per_record, table, state)
        e, m = energy_magnetization(spins, J, h)
        energies[k] = e
        mags[k] = m
        if store:
            configs[k, :, :] = spins
    return accepted


@nb.njit(cache=True)
def _wolff_cluster(flat, L, p_thr, state, stack):
    """Grow and flip one Wolff cluster. Returns its size."""
    seed = next_below(state, L * L)
    return grow_cluster(flat, L, seed, flat[seed], -flat[seed], p_thr, state, stack)


@nb.njit(cache=True)
def run_wolff(spins, n_records, clusters_per_record, J, p_thr, state, stack, configs, energies, mags, store):
    """Wolff cluster updates (h = 0): ``n_records`` blocks of ``clusters_per_record`` clusters.

    ``stack`` is a preallocated ``int64[L*L]`` work array. Returns the total
    number of flipped spins.
    """
    L = spins.shape[0]
    flat = spins.reshape(L * L)
    flipped = 0
    for k in range(n_records):
        for _ in range(clusters_per_record):
            flipped += _wolff_cluster(flat, L, p_thr, state, stack)
        e, m = energy_magnetization(spins, J, 0.0)
        energies[k] = e
        mags[k] = m
        if store:
            configs[k, :, :] = spins
    return flipped
