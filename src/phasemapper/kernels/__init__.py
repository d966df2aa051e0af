"""Compiled kernels (numba on the CPU), one module per model family.

Systems reach kernels only through these module names (``kernels.ising``), so a
GPU implementation can later be selected here without touching systems.

Compiled kernels are cached on disk under a directory named by a hash of this
package's sources: numba keys its cache on each function's own file, so a kernel
that inlines a helper from another module (``_lattice.grow_cluster``) would
otherwise keep running the old helper after an edit.
"""

import hashlib
import os
from pathlib import Path

import numba


def _source_versioned_cache_dir() -> str:
    digest = hashlib.sha1()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    base = numba.config.CACHE_DIR or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "phasemapper", "numba"
    )
    return os.path.join(base, digest.hexdigest()[:16])


numba.config.CACHE_DIR = _source_versioned_cache_dir()

from . import _blume_capel as blume_capel  # noqa: E402
from . import _hopfield as hopfield  # noqa: E402
from . import _ising as ising  # noqa: E402
from . import _multispin as multispin  # noqa: E402
from . import _potts as potts  # noqa: E402
from . import _tasep as tasep  # noqa: E402
from . import _xy as xy  # noqa: E402

__all__ = ["ising", "multispin", "potts", "blume_capel", "tasep", "hopfield", "xy"]
