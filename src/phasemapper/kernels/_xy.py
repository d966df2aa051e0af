"""numba kernels for the 2-D XY model ``H = -J sum_<ij> cos(theta_i - theta_j)`` on a periodic L x L lattice."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._lattice import after, before, neighbours
from ._rng import next_below, next_double, unit_double, xoshiro_step

_U = np.uint64

__all__ = ["fill_components", "metropolis_sweeps", "wolff_clusters", "measure", "measure_components", "run_records"]

_TWO_PI = 2.0 * math.pi


@nb.njit(cache=True)
def fill_components(theta, work):
    """``work[0], work[1] = cos(theta), sin(theta)``: the spin components the update kernels read and keep current."""
    L = theta.shape[0]
    for i in range(L):
        for j in range(L):
            work[0, i, j] = math.cos(theta[i, j])
            work[1, i, j] = math.sin(theta[i, j])


@nb.njit(cache=True)
def metropolis_sweeps(theta, n_sweeps, beta, J, delta, state, work):
    """Checkerboard Metropolis with uniform angle proposals in ``[-delta, delta]``. Returns accepted moves.

    ``work`` (``float64[2, L, L]``) must hold the spins' components
    (:func:`fill_components`) and is kept current, so that a proposal costs two
    trigonometric calls instead of eight: ``dE = -J (s_new - s_old) . h`` with
    ``h`` the sum of the neighbours' spin vectors. The RNG state stays in registers.
    """
    L = _U(theta.shape[0])  # unsigned indices, as in every lattice kernel (see _lattice.neighbours)
    cos_t, sin_t = work[0], work[1]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    accepted = 0
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                up = before(i, L)
                down = after(i, L)
                for j in range((i + _U(parity)) & _U(1), L, _U(2)):
                    left = before(j, L)
                    right = after(j, L)
                    hx = cos_t[up, j] + cos_t[down, j] + cos_t[i, left] + cos_t[i, right]
                    hy = sin_t[up, j] + sin_t[down, j] + sin_t[i, left] + sin_t[i, right]
                    bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                    new = theta[i, j] + delta * (2.0 * unit_double(bits) - 1.0)
                    c, s = math.cos(new), math.sin(new)
                    dE = -J * ((c - cos_t[i, j]) * hx + (s - sin_t[i, j]) * hy)
                    bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
                    if dE <= 0.0 or unit_double(bits) < math.exp(-beta * dE):
                        theta[i, j] = new % _TWO_PI
                        cos_t[i, j], sin_t[i, j] = c, s
                        accepted += 1
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return accepted


@nb.njit(cache=True)
def wolff_clusters(theta, n_clusters, beta, J, state, stack, in_cluster, work):
    """Wolff's embedding (U. Wolff, PRL 62, 361 (1989)): reflect a cluster about the line normal to a random r.

    A bond joins with probability ``1 - exp(min(0, -2 beta J (s_i.r)(s_j.r)))``.
    ``work`` holds the spins' components as in :func:`metropolis_sweeps` and is
    kept current (a reflection needs no trigonometry). Returns flipped sites.
    """
    L = theta.shape[0]
    n = L * L
    flat = theta.reshape(n)
    cos_f = work[0].reshape(n)
    sin_f = work[1].reshape(n)
    flipped = 0
    for _ in range(n_clusters):
        phi = _TWO_PI * next_double(state)
        rx, ry = math.cos(phi), math.sin(phi)
        seed = next_below(state, n)
        stack[0] = seed
        in_cluster[seed] = True
        top = 1
        members = 0
        while top > 0:
            top -= 1
            site = stack[top]
            proj = cos_f[site] * rx + sin_f[site] * ry
            # reflect: theta -> pi + 2 phi - theta, i.e. s -> s - 2 (s.r) r
            flat[site] = (math.pi + 2.0 * phi - flat[site]) % _TWO_PI
            cos_f[site] -= 2.0 * proj * rx
            sin_f[site] -= 2.0 * proj * ry
            stack[n + members] = site
            members += 1
            for nb_ in neighbours(site, L, n):
                if not in_cluster[nb_]:
                    x = 2.0 * beta * J * proj * (cos_f[nb_] * rx + sin_f[nb_] * ry)
                    if x > 0 and next_double(state) < -math.expm1(-x):
                        in_cluster[nb_] = True
                        stack[top] = nb_
                        top += 1
        for k in range(members):
            in_cluster[stack[n + k]] = False
        flipped += members
    return flipped


@nb.njit(cache=True)
def measure_components(work, J, beta):
    """:func:`measure` from the spin components ``work[0], work[1] = cos(theta), sin(theta)``.

    Bond terms by the angle-difference identities ``cos(a - b) = cos a cos b + sin a sin b`` and
    ``sin(a - b) = sin a cos b - cos a sin b``: no trigonometric call, equal to :func:`measure` to rounding.
    """
    c, s = work[0], work[1]
    L = c.shape[0]
    cx = cy = sx = sy = 0.0
    mx = my = 0.0
    Lu = _U(L)
    for i in range(Lu):
        ip = after(i, Lu)
        for j in range(Lu):
            jp = after(j, Lu)
            ci, si = c[i, j], s[i, j]
            cx += ci * c[i, jp] + si * s[i, jp]
            cy += ci * c[ip, j] + si * s[ip, j]
            sx += si * c[i, jp] - ci * s[i, jp]
            sy += si * c[ip, j] - ci * s[ip, j]
            mx += ci
            my += si
    n = L * L
    energy = -J * (cx + cy) / n
    helicity = (J * (cx + cy) - beta * J * J * (sx * sx + sy * sy)) / (2.0 * n)
    return energy, math.sqrt(mx * mx + my * my) / n, helicity


@nb.njit(cache=True)
def measure(theta, J, beta):
    """Energy per site, |magnetization| per site and the per-sample helicity-modulus estimator.

    ``helicity = (1 / 2N) sum_{a=x,y} [J sum_a cos(dtheta) - beta J^2 (sum_a sin(dtheta))^2]``; its mean is
    the helicity modulus (the mean of ``sum sin`` vanishes by symmetry).
    """
    work = np.empty((2,) + theta.shape)
    fill_components(theta, work)
    return measure_components(work, J, beta)


@nb.njit(cache=True)
def run_records(
    theta, J, beta, n_records, sweeps, clusters, delta, state, stack, in_cluster, work, configs, values, store
):
    """The record loop: per record ``sweeps`` Metropolis sweeps, then ``clusters`` Wolff updates, then a measurement.

    Fills ``work`` once (:func:`fill_components`); ``values[k]`` gets
    ``measure``'s energy, magnetization and helicity estimator (from the cached components); if ``store``,
    ``configs[k]`` the angles. Returns (accepted moves, flipped sites).
    """
    fill_components(theta, work)
    accepted = 0
    flipped = 0
    for k in range(n_records):
        if sweeps > 0:
            accepted += metropolis_sweeps(theta, sweeps, beta, J, delta, state, work)
        if clusters > 0:
            flipped += wolff_clusters(theta, clusters, beta, J, state, stack, in_cluster, work)
        values[k, 0], values[k, 1], values[k, 2] = measure_components(work, J, beta)
        if store:
            configs[k, :, :] = theta
    return accepted, flipped
