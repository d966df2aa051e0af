"""Compiled kernels (numba on the CPU), one module per model family.

Systems reach kernels only through these module names (``kernels.ising``), so a
GPU implementation can later be selected here without touching systems.
"""

from . import _blume_capel as blume_capel
from . import _hopfield as hopfield
from . import _ising as ising
from . import _multispin as multispin
from . import _potts as potts
from . import _tasep as tasep
from . import _xy as xy

__all__ = ["ising", "multispin", "potts", "blume_capel", "tasep", "hopfield", "xy"]
