"""Compiled kernels (numba on the CPU), one module per model family.

Systems reach kernels only through these module names (``kernels.ising``), so a
GPU implementation can later be selected here without touching systems.
"""

from . import _ising as ising

__all__ = ["ising"]
