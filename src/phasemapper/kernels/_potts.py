"""numba kernels for the q-state Potts model ``H = -J sum_<ij> delta(s_i, s_j)`` on a periodic L x L lattice."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._lattice import after, before, grow_cluster
from ._rng import next_below, probability_threshold, unit_double, xoshiro_step

_U = np.uint64

__all__ = ["heatbath_table", "wolff_threshold", "heatbath_sweeps", "wolff_clusters", "measure", "run_records"]


def heatbath_table(T: float, J: float) -> np.ndarray:
    """``exp(J n / T)`` for ``n = 0..4`` equal neighbours."""
    return np.exp(J * np.arange(5) / T)


def wolff_threshold(T: float, J: float) -> np.uint64:
    """Bond activation ``p = 1 - exp(-J/T)`` between equal neighbours (Fortuin-Kasteleyn)."""
    return np.uint64(probability_threshold(-math.expm1(-J / T)))


@nb.njit(cache=True)
def heatbath_sweeps(spins, q, n_sweeps, boltz, state):
    """Checkerboard heat-bath sweeps: each site drawn from its conditional distribution. Returns changes.

    The new state is ``sum_m [r >= W_m]`` over the cumulative weights ``W_0..W_{q-2}``
    (a fixed-length loop, no data-dependent branch); the RNG state stays in registers.
    """
    L = _U(spins.shape[0])  # unsigned indices: numba wraps signed ones
    w = np.empty(q)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    changed = 0
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                up = spins[before(i, L)]
                down = spins[after(i, L)]
                row = spins[i]
                for j in range((i + _U(parity)) & _U(1), L, _U(2)):
                    a, b = up[j], down[j]
                    c, d = row[before(j, L)], row[after(j, L)]
                    total = 0.0
                    for k in range(q):
                        wk = boltz[_U((a == k) + (b == k) + (c == k) + (d == k))]
                        w[_U(k)] = wk
                        total += wk
                    bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                    r = unit_double(bits) * total
                    new = 0
                    acc = 0.0
                    for k in range(q - 1):
                        acc += w[_U(k)]
                        new += r >= acc
                    changed += new != row[j]
                    row[j] = new
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return changed


@nb.njit(cache=True)
def wolff_clusters(spins, q, n_clusters, p_thr, state, stack):
    """Wolff updates: grow a cluster of equal spins and give it a new, different state. Returns flipped sites."""
    L = spins.shape[0]
    n = L * L
    flat = spins.reshape(n)
    flipped = 0
    for _ in range(n_clusters):
        seed = next_below(state, n)
        old = flat[seed]
        new = (old + 1 + next_below(state, q - 1)) % q
        flipped += grow_cluster(flat, L, seed, old, new, p_thr, state, stack)
    return flipped


@nb.njit(cache=True)
def measure(spins, q, J):
    """Energy per site and the order parameter ``(q * max_k n_k / N - 1) / (q - 1)``."""
    L = spins.shape[0]
    counts = np.zeros(q, dtype=np.int64)
    satisfied = 0
    Lu = _U(L)
    for i in range(Lu):
        ip = after(i, Lu)
        for j in range(Lu):
            jp = after(j, Lu)
            s = spins[i, j]
            counts[s] += 1
            satisfied += (s == spins[ip, j]) + (s == spins[i, jp])
    n = L * L
    return -J * satisfied / n, (q * counts.max() / n - 1.0) / (q - 1.0)


@nb.njit(cache=True)
def run_records(spins, q, J, n_records, sweeps, clusters, boltz, p_thr, state, stack, configs, values, store):
    """The record loop: per record ``sweeps`` heat-bath sweeps, then ``clusters`` Wolff updates, then a measurement.

    ``values[k]`` gets ``measure``'s energy and magnetization; if ``store``,
    ``configs[k]`` the lattice. Returns (changed sites, flipped sites).
    """
    changed = 0
    flipped = 0
    for k in range(n_records):
        if sweeps > 0:
            changed += heatbath_sweeps(spins, q, sweeps, boltz, state)
        if clusters > 0:
            flipped += wolff_clusters(spins, q, clusters, p_thr, state, stack)
        values[k, 0], values[k, 1] = measure(spins, q, J)
        if store:
            configs[k, :, :] = spins
    return changed, flipped
