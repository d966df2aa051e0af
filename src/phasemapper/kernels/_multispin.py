"""Multi-spin coded Metropolis for the 2-D Ising model: 64 independent replicas per uint64 word.

Bit ``r`` of ``words[i, j]`` is the spin of replica ``r`` at site ``(i, j)`` (1 = up).
At ``h = 0`` the Metropolis decision depends only on the number ``k`` of
anti-aligned neighbours: ``k >= 2`` always flips, ``k = 1`` flips with
``p4 = exp(-4 J / T)`` and ``k = 0`` with ``p8 = exp(-8 J / T)``. ``k`` is counted
bitwise for all replicas at once, and the Bernoulli bits come from a bit-sliced
comparison of fresh random words with the binary expansion of ``p``: every
replica gets its own independent bits, so each replica is a valid, independent
Markov chain (no random number is shared between replicas).
Reference: M. Creutz, L. Jacobs and C. Rebbi, PRD 20, 1915 (1979); N. Ito and
Y. Kanada, Supercomputer 5, 31 (1988) for multi-spin coding.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._lattice import after, before
from ._rng import xoshiro_step

__all__ = [
    "probability_bits",
    "acceptance_bits",
    "bernoulli_words",
    "metropolis_sweeps",
    "run_records",
    "unpack",
    "pack",
    "measure",
]

_U = np.uint64
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
_BITS = 53  # precision of the bit-sliced comparison (as a double)


def probability_bits(p: float) -> np.ndarray:
    """The first 53 binary digits of ``p`` in [0, 1) as uint64 masks (all ones where the digit is 1)."""
    bits = np.zeros(_BITS, dtype=np.uint64)
    x = float(p)
    for i in range(_BITS):
        x *= 2.0
        if x >= 1.0:
            bits[i] = _ALL
            x -= 1.0
    return bits


@nb.njit(inline="always", cache=True)
def _bernoulli2(mask_a, bits_a, mask_b, bits_b, s0, s1, s2, s3, mask_half=_ZERO):
    """Independent Bernoulli bits for the replicas in disjoint masks: probability p_a in ``mask_a``, p_b in
    ``mask_b`` and 1/2 in ``mask_half``.

    Each replica draws one random binary fraction ``0.r_1 r_2 ...`` (bit r of
    successive random words) and its bit is 1 iff the fraction is below its own
    threshold, compared digit by digit (1/2 is ``0.1000...``); the loop ends as soon
    as every replica is decided (~log2(64) + 2 words).
    """
    result = _ZERO
    undecided = mask_a | mask_b | mask_half
    i = 0
    while undecided != _ZERO and i < bits_a.shape[0]:
        p = (mask_a & bits_a[i]) | (mask_b & bits_b[i])
        if i == 0:
            p |= mask_half
        r, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        result |= undecided & p & ~r
        undecided &= ~(p ^ r)
        i += 1
    return result, s0, s1, s2, s3


@nb.njit(cache=True)
def bernoulli_words(pbits, n, state):
    """``n`` words of independent Bernoulli(p) bits (for testing the bit slicer)."""
    out = np.empty(n, dtype=np.uint64)
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    for k in range(n):
        out[k], s0, s1, s2, s3 = _bernoulli2(_ALL, pbits, _ZERO, pbits, s0, s1, s2, s3)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return out


@nb.njit(inline="always", cache=True)
def update_row(words, i, parity, p4bits, p8bits, s0, s1, s2, s3):
    """Metropolis-update the sites of row ``i`` on sublattice ``parity`` for all 64 replicas at h = 0; a flip
    that leaves the energy unchanged is accepted with probability 1/2 (see ``metropolis_tables`` in
    :mod:`phasemapper.kernels._ising` for why).

    Returns ``(accepted flips, s0, s1, s2, s3)``: the RNG state is passed in and out
    so that callers keep it in registers (one stream per chain, or per row).
    """
    # unsigned indices: numba wraps signed ones (a compare and a select per access), 6% of this loop
    L = _U(words.shape[0])
    i = _U(i)
    up = before(i, L)
    down = after(i, L)
    accepted = 0
    for j in range((i + _U(parity)) & _U(1), L, _U(2)):
        s = words[i, j]
        a = s ^ words[up, j]
        b = s ^ words[down, j]
        c = s ^ words[i, before(j, L)]
        d = s ^ words[i, after(j, L)]
        x1 = a ^ b
        x2 = c ^ d
        two_or_more = (a & b) | (c & d) | (x1 & x2)
        three_or_more = (a & b & c & d) | (two_or_more & (x1 ^ x2))
        exactly_two = two_or_more & ~three_or_more  # dE = 0: flipped with probability 1/2 (see metropolis_tables)
        exactly_one = (x1 ^ x2) & ~two_or_more
        none = ~(a | b | c | d)
        r, s0, s1, s2, s3 = _bernoulli2(exactly_one, p4bits, none, p8bits, s0, s1, s2, s3, exactly_two)
        flip = three_or_more | r
        words[i, j] = s ^ flip
        # popcount of flip
        v = flip - ((flip >> np.uint64(1)) & np.uint64(0x5555555555555555))
        v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
        v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        accepted += np.int64((v * np.uint64(0x0101010101010101)) >> np.uint64(56))
    return accepted, s0, s1, s2, s3


@nb.njit(cache=True)
def metropolis_sweeps(words, n_sweeps, p4bits, p8bits, state):
    """``n_sweeps`` checkerboard Metropolis sweeps of all 64 replicas at h = 0. Returns accepted flips."""
    L = words.shape[0]
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    accepted = 0
    for _ in range(n_sweeps):
        for parity in range(2):
            for i in range(L):
                flips, s0, s1, s2, s3 = update_row(words, i, parity, p4bits, p8bits, s0, s1, s2, s3)
                accepted += flips
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return accepted


def acceptance_bits(T: float, J: float) -> tuple[np.ndarray, np.ndarray]:
    """Bit expansions of ``exp(-4J/T)`` and ``exp(-8J/T)``."""
    return probability_bits(math.exp(-4.0 * J / T)), probability_bits(math.exp(-8.0 * J / T))


def unpack(words: np.ndarray) -> np.ndarray:
    """int8 spins (+-1) of the 64 replicas packed in ``words``: ``(L, L)`` words give ``(64, L, L)``
    spins, a stack ``(n, L, L)`` gives ``(64 n, L, L)`` (record ``k``'s replica ``r`` at ``64 k + r``).

    The result is C-contiguous, sample first, as every consumer reads it (a strided
    view would cost each later copy or bit packing ~20x more).

    Examples
    --------
    >>> import numpy as np
    >>> unpack(np.array([[5]], dtype=np.uint64))[:4, 0, 0].tolist()  # bits 0 and 2 set
    [1, -1, 1, -1]
    """
    words = np.asarray(words)
    if words.dtype != np.uint64 or words.ndim not in (2, 3):
        raise ValueError(f"words must be (L, L) or (n, L, L) uint64, got {words.dtype} {words.shape}")
    stack = words.reshape((-1,) + words.shape[-2:])
    out = np.empty((64 * stack.shape[0],) + words.shape[-2:], dtype=np.int8)
    _unpack_into(np.ascontiguousarray(stack), out)
    return out


@nb.njit(cache=True)
def _unpack_into(words, out):
    """``out[64 k + r, i, j] = +-1`` from bit ``r`` of ``words[k, i, j]``."""
    n, rows, cols = words.shape
    for k in range(n):
        for r in range(64):
            shift = np.uint64(r)
            for i in range(rows):
                for j in range(cols):
                    out[64 * k + r, i, j] = np.int8(2 * ((words[k, i, j] >> shift) & np.uint64(1))) - np.int8(1)


def pack(spins: np.ndarray) -> np.ndarray:
    """Inverse of :func:`unpack`: ``(64, L, L)`` +-1 spins to ``(L, L)`` uint64 words."""
    bits = (np.moveaxis(np.asarray(spins), 0, -1) > 0).astype(np.uint8)
    return np.packbits(bits, axis=-1, bitorder="little").view("<u8").reshape(bits.shape[:-1]).astype(np.uint64)


@nb.njit(inline="always", cache=True)
def _carry_save(a, b, c):
    """Carry-save addition of three bit-sliced words: ``(carry, sum)``, lane by lane ``a + b + c = 2 carry + sum``."""
    u = a ^ b
    return (a & b) | (u & c), u ^ c


@nb.njit(cache=True)
def _lane_counts(stream):
    """``counts[r]``: how many words of ``stream`` (uint64) have bit ``r`` set, for all 64 bits at once.

    Harley-Seal: blocks of eight words go through a carry-save tree into bit-sliced
    ones, twos and fours, and each block's eights into a bit-sliced binary counter,
    so a word costs a few bitwise operations instead of 64 shifts. The lanes are
    read out once at the end.
    """
    n = stream.shape[0]
    ones = twos = fours = _ZERO
    eights = np.zeros(40, dtype=np.uint64)  # bit-sliced count of eights, up to 2**40 blocks
    tail = np.zeros(8, dtype=np.uint64)  # a short last block, padded with zero words
    tail[: n % 8] = stream[n - n % 8 :]
    for start in range(0, n, 8):
        w = stream[start : start + 8] if start + 8 <= n else tail
        twos_a, ones = _carry_save(ones, w[0], w[1])
        twos_b, ones = _carry_save(ones, w[2], w[3])
        fours_a, twos = _carry_save(twos, twos_a, twos_b)
        twos_a, ones = _carry_save(ones, w[4], w[5])
        twos_b, ones = _carry_save(ones, w[6], w[7])
        fours_b, twos = _carry_save(twos, twos_a, twos_b)
        carry, fours = _carry_save(fours, fours_a, fours_b)
        level = 0
        while carry != _ZERO:  # ripple the block's eights into the counter
            nxt = eights[level] & carry
            eights[level] ^= carry
            carry = nxt
            level += 1
    counts = np.zeros(64, dtype=np.int64)
    one = np.uint64(1)
    for r in range(64):
        sh = np.uint64(r)
        c = np.int64((ones >> sh) & one) + 2 * np.int64((twos >> sh) & one) + 4 * np.int64((fours >> sh) & one)
        for level in range(eights.shape[0]):
            c += np.int64((eights[level] >> sh) & one) << (level + 3)
        counts[r] = c
    return counts


@nb.njit(cache=True)
def measure(words, J):
    """Per-replica totals from the packed words: ``(bonds, magnetization)``, each ``int64[64]``.

    ``bonds = sum_<ij> s_i s_j`` (right and down bond of every site), ``magnetization = sum_i s_i``:
    per replica, the counts of up spins and of anti-aligned bonds (:func:`_lane_counts`).
    """
    L = words.shape[0]
    n = L * L
    anti_aligned = np.empty(2 * n, dtype=np.uint64)  # s ^ right, then s ^ down, for every site
    Lu = _U(L)
    for i in range(Lu):
        ip = after(i, Lu)
        for j in range(Lu):
            jp = after(j, Lu)
            anti_aligned[i * Lu + j] = words[i, j] ^ words[i, jp]
            anti_aligned[_U(n) + i * Lu + j] = words[i, j] ^ words[ip, j]
    up_count = _lane_counts(words.reshape(n))
    anti = _lane_counts(anti_aligned)
    return 2 * n - 2 * anti, 2 * up_count - n


@nb.njit(cache=True)
def run_records(words, n_records, per_record, p4bits, p8bits, state, bonds, magnetization, stored, store):
    """``n_records`` blocks of ``per_record`` sweeps; after each block record every replica's bond sum and
    magnetization (``bonds``, ``magnetization``: ``int64[n_records, 64]``) and, if ``store``, the words
    (``stored[k]``). Before a stored record each replica's spins are all flipped with probability 1/2: at
    h = 0 the global flip is an exact symmetry (a rejection-free move), so ordered replicas started up
    show both signs, as a cluster algorithm's do. Returns accepted single-spin flips."""
    accepted = 0
    for k in range(n_records):
        accepted += metropolis_sweeps(words, per_record, p4bits, p8bits, state)
        if store:
            s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
            flip, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            state[0], state[1], state[2], state[3] = s0, s1, s2, s3
            L = words.shape[0]
            for i in range(L):
                for j in range(L):
                    words[i, j] ^= flip
            stored[k] = words
        b, m = measure(words, 1.0)
        bonds[k] = b
        magnetization[k] = m
    return accepted
