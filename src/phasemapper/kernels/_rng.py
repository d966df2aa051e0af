"""xoshiro256** random numbers inside numba kernels, with explicit state.

The state is a ``uint64[4]`` array owned by the caller, so kernels never touch a
global generator and the same seed gives the same stream everywhere.
Reference: D. Blackman and S. Vigna, "Scrambled linear pseudorandom number
generators", ACM TOMS 47 (2021).
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = [
    "new_state",
    "xoshiro_step",
    "next_u64",
    "unit_double",
    "next_double",
    "below",
    "next_below",
    "probability_threshold",
]

_U = np.uint64


def new_state(seed: int | np.random.SeedSequence | None) -> np.ndarray:
    """A fresh ``uint64[4]`` xoshiro256** state derived from ``seed`` (never all zero)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    state = ss.generate_state(4, dtype=np.uint64)
    if not state.any():  # pragma: no cover - probability 2**-256
        state[0] = 1
    return state


@nb.njit(inline="always", cache=True)
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@nb.njit(inline="always", cache=True)
def xoshiro_step(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in local variables: ``(bits, s0, s1, s2, s3)``.

    Hot loops keep the state in registers with this and store it back once.
    """
    result = _rotl(s1 * _U(5), 7) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@nb.njit(inline="always", cache=True)
def next_u64(s):
    """Next 64 random bits from the state array ``s``; advances it in place."""
    result, s[0], s[1], s[2], s[3] = xoshiro_step(s[0], s[1], s[2], s[3])
    return result


@nb.njit(inline="always", cache=True)
def unit_double(bits):
    """The top 53 of 64 random bits as a uniform double in [0, 1) (for loops that keep the state in registers)."""
    return (bits >> _U(11)) * (1.0 / 9007199254740992.0)


@nb.njit(inline="always", cache=True)
def next_double(s):
    """Uniform double in [0, 1) with 53 random bits."""
    return unit_double(next_u64(s))


@nb.njit(inline="always", cache=True)
def below(bits, n):
    """Uniform integer in ``[0, n)`` from the high 32 of 64 random bits, ``n < 2**32`` (Lemire's multiply-shift)."""
    return np.int64(((bits >> _U(32)) * _U(n)) >> _U(32))


@nb.njit(inline="always", cache=True)
def next_below(s, n):
    """Uniform integer in ``[0, n)`` for ``n < 2**32`` (Lemire's multiply-shift)."""
    return below(next_u64(s), n)


def probability_threshold(p: np.ndarray | float) -> np.ndarray:
    """``uint64`` thresholds ``t`` such that ``next_u64() < t`` has probability ``p`` (``p < 1``)."""
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    # 2**64 * p, computed in float and clipped below 2**64; exact to 2**-53 relative.
    t = np.floor(p * 18446744073709551616.0)
    t = np.minimum(t, 18446744073709549568.0)  # largest double below 2**64
    return t.astype(np.uint64)
