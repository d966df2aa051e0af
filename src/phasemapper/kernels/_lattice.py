"""Periodic square-lattice helpers shared by the lattice kernels."""

from __future__ import annotations

import numba as nb

__all__ = ["neighbours"]


@nb.njit(inline="always", cache=True)
def neighbours(site, L, n):
    """The four neighbours (up, down, left, right) of flat ``site`` on a periodic L x L lattice."""
    i = site // L
    j = site - i * L
    up = site - L if i > 0 else site + n - L
    down = site + L if i + 1 < L else site - n + L
    left = site - 1 if j > 0 else site + L - 1
    right = site + 1 if j + 1 < L else site - L + 1
    return up, down, left, right
