"""Two-valued sites (Ising and Hopfield spins, TASEP occupations) stored one bit per site.

Used where configurations are copied in bulk: from a worker process back to the scan
(:class:`PackedSites`; eight times less to pickle, pipe and unpickle) and into ``scan.nc``
(``phasemapper.save``). One rule for both: which arrays qualify (:func:`two_values`), how they
are packed (:func:`pack_rows`) and unpacked (:func:`unpack_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PackedSites", "pack_sites", "pack_rows", "two_values", "unpack_rows"]


def two_values(a: np.ndarray) -> tuple[int, int] | None:
    """``(low, high)`` when ``a`` holds integers taking at most two values (``low == high`` for a
    constant array), else ``None``."""
    if a.dtype.kind not in "iu" or a.size == 0:
        return None
    low, high = int(a.min()), int(a.max())
    if low != high:
        flat = a.reshape(-1)
        step = 1 << 22  # compared in 4 MB blocks: a whole-array boolean would be fresh memory to fault in
        counted = sum(
            np.count_nonzero(flat[i : i + step] == low) + np.count_nonzero(flat[i : i + step] == high)
            for i in range(0, flat.size, step)
        )
        if counted != a.size:
            return None
    return low, high


def pack_rows(a: np.ndarray, high: int) -> np.ndarray:
    """``a`` (rows first) as ``np.packbits`` of ``a == high`` along its flattened sites: ``(rows, ceil(sites / 8))``."""
    return np.packbits(a.reshape(len(a), -1) == high, axis=-1)


def unpack_rows(bits: np.ndarray, low: int, high: int, out: np.ndarray) -> np.ndarray:
    """Undo :func:`pack_rows` into ``out`` (rows first, any site shape, integer or float dtype); returns ``out``."""
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    flat = out.reshape(len(out), -1)
    # low + is_high * (high - low), computed in out's dtype: for integers the difference may overflow it
    # (int8 sites -100 and 100), and the sum then wraps back to ``high``
    step, base = np.array(high - low).astype(out.dtype), np.array(low).astype(out.dtype)
    np.multiply(np.unpackbits(bits, axis=-1, count=flat.shape[1]), step, out=flat, casting="unsafe")
    np.add(flat, base, out=flat, casting="unsafe")
    return out


@dataclass(frozen=True)
class PackedSites:
    """Configurations whose sites take two values, ``low`` and ``high``, one bit per site.

    Examples
    --------
    >>> import numpy as np
    >>> spins = np.array([[1, -1, -1], [1, 1, -1]], dtype=np.int8)
    >>> packed = pack_sites(spins)
    >>> packed.bits.nbytes, packed.low, packed.high
    (2, -1, 1)
    >>> out = np.empty_like(spins)
    >>> packed.unpack_into(out)
    >>> bool((out == spins).all())
    True
    """

    shape: tuple[int, ...]
    dtype: np.dtype
    low: int
    high: int
    bits: np.ndarray

    def unpack_into(self, out: np.ndarray) -> None:
        """Write the configurations into ``out``, a contiguous array of shape ``self.shape``."""
        if out.shape != self.shape:
            raise ValueError(f"out has shape {out.shape}, the packed configurations {self.shape}")
        unpack_rows(self.bits, self.low, self.high, out)


def pack_sites(configurations: np.ndarray) -> PackedSites | np.ndarray:
    """``configurations`` (samples first) as :class:`PackedSites` when their sites take two integer
    values, else unchanged. About 1 ms per 4 MB."""
    a = np.asarray(configurations)
    values = two_values(a) if a.ndim >= 1 else None
    if values is None:
        return configurations
    return PackedSites(a.shape, a.dtype, values[0], values[1], pack_rows(a, values[1]))
