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

from ._lattice import after, before, grow_cluster, neighbour_table
from ._rng import below, next_below, probability_threshold, xoshiro_step

__all__ = [
    "metropolis_tables",
    "wolff_threshold",
    "energy_magnetization",
    "run_metropolis",
    "run_wolff",
    "run_wolff_pair",
    "neighbour_table",
]

_ALWAYS = np.uint64(0xFFFFFFFFFFFFFFFF)
_HALF = np.uint64(1 << 63)
_U = np.uint64


def metropolis_tables(T: float, J: float, h: float) -> np.ndarray:
    """Acceptance thresholds ``table[5 * (s+1)//2 + (nn+4)//2]`` for flipping spin ``s`` with neighbour sum ``nn``.

    The entry is ``2**64 * exp(-dE/T)`` as ``uint64`` for ``dE > 0``, ``2**63`` for
    ``dE = 0`` and ``2**64 - 1`` for ``dE < 0``. The kernel accepts when a fresh 64-bit
    random number is below the entry (branch-free), so a downhill move is accepted
    with probability ``1 - 2**-64``. A move that leaves the energy unchanged is
    accepted with probability 1/2, not 1: in a checkerboard sweep, accepting every
    such move makes the dynamics deterministic wherever every spin of a sublattice
    has as many neighbours up as down, and a chain that reaches such a
    configuration cycles in it for ever (seen on 4 x 4 lattices). Both
    acceptances satisfy detailed balance.
    """
    table = np.empty(10, dtype=np.uint64)
    for si, s in enumerate((-1, 1)):
        for ni, nn in enumerate((-4, -2, 0, 2, 4)):
            dE = 2.0 * s * (J * nn + h)
            table[5 * si + ni] = _ALWAYS if dE < 0 else _HALF if dE == 0 else probability_threshold(math.exp(-dE / T))
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
    Lu = _U(L)
    for i in range(Lu):
        ip = after(i, Lu)
        for j in range(Lu):
            jp = after(j, Lu)
            s = np.int64(spins[i, j])
            bond += s * (spins[ip, j] + spins[i, jp])
            mag += s
    return -J * bond - h * mag, float(mag)


@nb.njit(cache=True)
def _metropolis_sweeps(spins, n_sweeps, table, state):
    """``n_sweeps`` checkerboard sweeps (for odd L the same order is still a valid
    sequence of single-site updates). Branch-free accept; RNG state kept in registers."""
    L = _U(spins.shape[0])  # unsigned indices: numba wraps signed ones
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    accepted = 0
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                up = before(i, L)
                down = after(i, L)
                for j in range((i + _U(parity)) & _U(1), L, _U(2)):
                    s = np.int64(spins[i, j])
                    nn = np.int64(spins[up, j]) + spins[down, j] + spins[i, before(j, L)] + spins[i, after(j, L)]
                    r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                    flip = np.int64(r < table[_U(5 * ((s + 1) >> 1) + ((nn + 4) >> 1))])
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


@nb.njit(inline="always", cache=True)
def _between_clusters(
    spins, lane, flat, stack, n_records, per_record, J, started, records, configs, energies, mags, store, s0, s1, s2, s3
):
    """Lattice ``lane`` of :func:`run_wolff_pair` has finished a cluster: record if ``per_record`` clusters
    are done, then seed the next cluster unless all records are.

    Returns ``(top, old, started, records, seeded, s0, s1, s2, s3)``.
    """
    if started == per_record:
        e, m = energy_magnetization(spins[lane], J, 0.0)
        energies[records, lane] = e
        mags[records, lane] = m
        if store:
            configs[records, lane, :, :] = spins[lane]
        records += 1
        started = 0
    if records == n_records:
        return 0, np.int8(0), started, records, 0, s0, s1, s2, s3
    bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
    seed = below(bits, flat.shape[0])
    old = flat[seed]
    flat[seed] = -old
    stack[0] = seed
    return 1, old, started + 1, records, 1, s0, s1, s2, s3


@nb.njit(cache=True)
def run_wolff_pair(
    spins, n_records, clusters_per_record, J, p_thr, state, stacks, neighbour_table, configs, energies, mags, store
):
    """Wolff updates (h = 0) on two independent lattices at once, ``spins[0]`` and ``spins[1]``.

    The same chain as :func:`run_wolff` on each lattice, interleaved: each loop
    pass takes one site off each lattice's cluster stack and tests its four
    bonds without branches (a bond joins when its neighbour still has the
    cluster's old sign and a fresh random number is below ``p_thr``), so the
    two growths, independent of each other, overlap in the CPU instead of
    waiting on one chain of dependent loads. Every random number is used by one
    lattice only. Each lattice records after each of its own
    ``clusters_per_record`` clusters, so neither waits for the other between
    records. ``spins`` is ``int8 (2, L, L)``, ``stacks`` ``int64 (2, L*L)``,
    ``neighbour_table`` the lattice's :func:`~._lattice.neighbour_table`,
    ``configs`` ``(n_records, 2, L, L)`` (used if ``store``), ``energies`` and
    ``mags`` ``(n_records, 2)`` totals. Returns the number of flipped spins.
    """
    L = spins.shape[1]
    n = L * L
    fa = spins[0].reshape(n)
    fb = spins[1].reshape(n)
    sa = stacks[0]
    sb = stacks[1]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    ta = tb = 0  # stack tops (0: between clusters)
    oa = ob = np.int8(0)  # the growing cluster's old sign
    ca = cb = 0  # clusters started in the current record
    ra = rb = 0  # records completed
    flipped = 0
    while True:
        if ta == 0 and ra < n_records:  # lattice 0 between clusters: record if due, then seed the next
            ta, oa, ca, ra, seeded, s0, s1, s2, s3 = _between_clusters(
                spins,
                0,
                fa,
                sa,
                n_records,
                clusters_per_record,
                J,
                ca,
                ra,
                configs,
                energies,
                mags,
                store,
                s0,
                s1,
                s2,
                s3,
            )
            flipped += seeded
        if tb == 0 and rb < n_records:
            tb, ob, cb, rb, seeded, s0, s1, s2, s3 = _between_clusters(
                spins,
                1,
                fb,
                sb,
                n_records,
                clusters_per_record,
                J,
                cb,
                rb,
                configs,
                energies,
                mags,
                store,
                s0,
                s1,
                s2,
                s3,
            )
            flipped += seeded
        if ta == 0 and tb == 0:
            break
        # one site off each stack; a lattice with an empty stack does a no-op pass (act = 0)
        act_a = np.int64(ta > 0)
        act_b = np.int64(tb > 0)
        ta -= act_a
        tb -= act_b
        # unsigned indices: numba wraps signed ones, at a cost in this loop
        pa = _U(sa[_U(ta)])
        pb = _U(sb[_U(tb)])
        for k in range(4):
            a = _U(neighbour_table[pa, k])
            b = _U(neighbour_table[pb, k])
            bits_a, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            bits_b, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            ja = np.int64((fa[a] == oa) & (bits_a < p_thr)) * act_a
            jb = np.int64((fb[b] == ob) & (bits_b < p_thr)) * act_b
            fa[a] -= 2 * oa * ja
            fb[b] -= 2 * ob * jb
            sa[_U(ta)] = a
            sb[_U(tb)] = b
            ta += ja
            tb += jb
            flipped += ja + jb
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return flipped
