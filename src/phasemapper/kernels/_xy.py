"""numba kernels for the 2-D XY model ``H = -J sum_<ij> cos(theta_i - theta_j)`` on a periodic L x L lattice."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._lattice import neighbours
from ._rng import next_below, next_double, unit_double, xoshiro_step

__all__ = ["metropolis_sweeps", "wolff_clusters", "measure"]

_TWO_PI = 2.0 * math.pi


@nb.njit(cache=True)
def metropolis_sweeps(theta, n_sweeps, beta, J, delta, state, work):
    """Checkerboard Metropolis with uniform angle proposals in ``[-delta, delta]``. Returns accepted moves.

    ``work`` is a preallocated ``float64[2, L, L]``, filled here with the spins'
    components ``(cos theta, sin theta)``, so that a proposal costs two
    trigonometric calls instead of eight: ``dE = -J (s_new - s_old) . h`` with
    ``h`` the sum of the neighbours' spin vectors. The RNG state stays in registers.
    """
    L = theta.shape[0]
    cos_t, sin_t = work[0], work[1]
    for i in range(L):
        for j in range(L):
            cos_t[i, j] = math.cos(theta[i, j])
            sin_t[i, j] = math.sin(theta[i, j])
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    accepted = 0
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                up = i - 1 if i > 0 else L - 1
                down = i + 1 if i + 1 < L else 0
                for j in range((i + parity) & 1, L, 2):
                    left = j - 1 if j > 0 else L - 1
                    right = j + 1 if j + 1 < L else 0
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
def wolff_clusters(theta, n_clusters, beta, J, state, stack, in_cluster):
    """Wolff's embedding (U. Wolff, PRL 62, 361 (1989)): reflect a cluster about the line normal to a random r.

    A bond joins with probability ``1 - exp(min(0, -2 beta J (s_i.r)(s_j.r)))``. Returns flipped sites.
    """
    L = theta.shape[0]
    n = L * L
    flat = theta.reshape(n)
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
            proj = math.cos(flat[site]) * rx + math.sin(flat[site]) * ry
            # reflect: theta -> pi + 2 phi - theta  (s -> s - 2 (s.r) r)
            flat[site] = (math.pi + 2.0 * phi - flat[site]) % _TWO_PI
            stack[n + members] = site
            members += 1
            for nb_ in neighbours(site, L, n):
                if not in_cluster[nb_]:
                    proj_nb = math.cos(flat[nb_]) * rx + math.sin(flat[nb_]) * ry
                    x = 2.0 * beta * J * proj * proj_nb
                    if x > 0 and next_double(state) < -math.expm1(-x):
                        in_cluster[nb_] = True
                        stack[top] = nb_
                        top += 1
        for k in range(members):
            in_cluster[stack[n + k]] = False
        flipped += members
    return flipped


@nb.njit(cache=True)
def measure(theta, J, beta):
    """Energy per site, |magnetization| per site and the per-sample helicity-modulus estimator.

    ``helicity = (1 / 2N) sum_{a=x,y} [J sum_a cos(dtheta) - beta J^2 (sum_a sin(dtheta))^2]``; its mean is
    the helicity modulus (the mean of ``sum sin`` vanishes by symmetry).
    """
    L = theta.shape[0]
    cx = cy = sx = sy = 0.0
    mx = my = 0.0
    for i in range(L):
        ip = i + 1 if i + 1 < L else 0
        for j in range(L):
            jp = j + 1 if j + 1 < L else 0
            t = theta[i, j]
            dx = t - theta[i, jp]
            dy = t - theta[ip, j]
            cx += math.cos(dx)
            cy += math.cos(dy)
            sx += math.sin(dx)
            sy += math.sin(dy)
            mx += math.cos(t)
            my += math.sin(t)
    n = L * L
    energy = -J * (cx + cy) / n
    helicity = (J * (cx + cy) - beta * J * J * (sx * sx + sy * sy)) / (2.0 * n)
    return energy, math.sqrt(mx * mx + my * my) / n, helicity
