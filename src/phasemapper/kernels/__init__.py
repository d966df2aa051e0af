"""Compiled kernels (numba on the CPU), one module per model family, behind a backend seam.

Systems reach kernels only through :func:`family` (``family("ising").run_wolff(...)``):
a proxy that resolves each attribute in the *active backend* at call time. A
backend is a mapping from family names to modules (or any objects) with the same
functions as the reference ``numba-cpu`` backend; :func:`register_backend` adds one
(e.g. a GPU implementation), :func:`use_backend` or the ``PHASEMAPPER_BACKEND``
environment variable (inherited by process-pool workers) selects it, and a family a
backend does not provide falls back to ``numba-cpu``. Systems and detectors never
change.

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
    base = getattr(numba.config, "CACHE_DIR", None) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "phasemapper", "numba"
    )
    return os.path.join(base, digest.hexdigest()[:16])


numba.config.CACHE_DIR = _source_versioned_cache_dir()  # type: ignore[attr-defined]  # set by numba at import

from collections.abc import Mapping  # noqa: E402
from typing import Any  # noqa: E402

from . import _blume_capel as blume_capel  # noqa: E402
from . import _hopfield as hopfield  # noqa: E402
from . import _ising as ising  # noqa: E402
from . import _multispin as multispin  # noqa: E402
from . import _perceptron as perceptron  # noqa: E402
from . import _potts as potts  # noqa: E402
from . import _tasep as tasep  # noqa: E402
from . import _xy as xy  # noqa: E402

REFERENCE_BACKEND = "numba-cpu"
_BACKENDS: dict[str, dict[str, Any]] = {
    REFERENCE_BACKEND: {
        "ising": ising,
        "multispin": multispin,
        "potts": potts,
        "blume_capel": blume_capel,
        "tasep": tasep,
        "hopfield": hopfield,
        "xy": xy,
        "perceptron": perceptron,
    },
}
_active: str | None = None


def register_backend(name: str, families: Mapping[str, Any]) -> None:
    """Add (or replace) a backend: ``families`` maps family names (``"ising"``, ...) to implementations.

    Each implementation must provide every public function of the reference family
    (its ``__all__``), with the same signature and array contract.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"backend name must be a non-empty string, got {name!r}")
    if name == REFERENCE_BACKEND:
        raise ValueError(f"{REFERENCE_BACKEND!r} is the reference backend and cannot be replaced")
    for fam, impl in families.items():
        if fam not in _BACKENDS[REFERENCE_BACKEND]:
            raise ValueError(f"unknown kernel family {fam!r}; known: {', '.join(sorted(_BACKENDS[REFERENCE_BACKEND]))}")
        missing = [f for f in _BACKENDS[REFERENCE_BACKEND][fam].__all__ if not callable(getattr(impl, f, None))]
        if missing:
            raise ValueError(f"backend {name!r}, family {fam!r}: missing {', '.join(missing)}")
    _BACKENDS[name] = dict(families)


def backends() -> list[str]:
    """Names of the registered backends."""
    return sorted(_BACKENDS)


def use_backend(name: str | None) -> None:
    """Make ``name`` the active backend for this process (``None``: back to ``PHASEMAPPER_BACKEND`` or the
    reference). Process-pool workers start fresh: set ``PHASEMAPPER_BACKEND`` to select it there too."""
    if name is not None and name not in _BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}; registered: {', '.join(backends())}")
    global _active
    _active = name


def active_backend() -> str:
    """The active backend: :func:`use_backend`'s choice, else ``PHASEMAPPER_BACKEND``, else ``numba-cpu``."""
    name = _active or os.environ.get("PHASEMAPPER_BACKEND") or REFERENCE_BACKEND
    if name not in _BACKENDS:
        raise ValueError(f"PHASEMAPPER_BACKEND={name!r} is not a registered kernel backend ({', '.join(backends())})")
    return name


class _Family:
    """Attribute access resolved in the active backend at call time (picklable by name)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        impl = _BACKENDS[active_backend()].get(self._name) or _BACKENDS[REFERENCE_BACKEND][self._name]
        return getattr(impl, attr)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return family, (self._name,)

    def __repr__(self) -> str:
        return f"<kernel family {self._name!r}>"


def family(name: str) -> _Family:
    """The kernels of family ``name`` in whichever backend is active when they are called."""
    if name not in _BACKENDS[REFERENCE_BACKEND]:
        raise ValueError(f"unknown kernel family {name!r}; known: {', '.join(sorted(_BACKENDS[REFERENCE_BACKEND]))}")
    return _Family(name)


__all__ = [
    "family",
    "register_backend",
    "use_backend",
    "active_backend",
    "backends",
    "REFERENCE_BACKEND",
    "ising",
    "multispin",
    "potts",
    "blume_capel",
    "tasep",
    "hopfield",
    "xy",
]
