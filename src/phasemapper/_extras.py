"""Optional dependencies: which extra installs each, and one clear error when one is missing."""

from __future__ import annotations

import importlib.util

__all__ = ["MissingDependency", "EXTRAS", "require"]

#: module -> the extra of ``pip install 'phasemapper[EXTRA]'`` that installs it
EXTRAS = {
    "torch": "deep",
    "skorch": "deep",
    "distributed": "dask",
    "pycalphad": "calphad",
    "h5py": "materials",
    "gpytorch": "materials",
    "mpltern": "materials",
    "gudhi": "topology",
}


class MissingDependency(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def require(*modules: str, by: str) -> None:
    """Raise :class:`MissingDependency` unless every one of ``modules`` can be imported (nothing is imported).

    Examples
    --------
    >>> require("numpy", by="the core")
    >>> require("no_such_module_here", by="this example")
    Traceback (most recent call last):
    ...
    phasemapper._extras.MissingDependency: this example needs the 'no_such_module_here' package, which is not installed
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            extra = EXTRAS.get(module)
            how = f": pip install 'phasemapper[{extra}]'" if extra else ", which is not installed"
            raise MissingDependency(f"{by} needs the {module!r} package{how}")
