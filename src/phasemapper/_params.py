"""Parameters read from the constructor: one rule for ``params()`` and ``__repr__`` of every configurable part.

As in scikit-learn, a constructor only validates and stores: each parameter is kept under an attribute of the
same name. :class:`Parameterized` reads the names and defaults from the ``__init__`` signatures along the class
hierarchy (a subclass's ``**kwargs`` passes the rest to its parent), so a subclass never writes ``params()``.
Natural arguments that a part's owner records elsewhere (a planner's ``space``) are named in ``context_params``.

Examples
--------
>>> class Smoother(Parameterized):
...     def __init__(self, *, width=1.0, passes=2):
...         self.width, self.passes = width, passes
>>> Smoother(width=0.5).params()
{'width': 0.5, 'passes': 2}
>>> Smoother(width=0.5)
Smoother(width=0.5)
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

__all__ = ["Parameterized", "plain"]


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: sequences become lists (sets sorted), numpy scalars Python numbers, parts their
    ``params()`` and records (a critical point, a free parameter) their ``to_dict()``."""
    if isinstance(value, np.generic):  # before float: numpy's float64 is a float
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, Parameterized):
        return value.params()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


class Parameterized:
    """A part whose parameters are its constructor's: ``params()`` and ``__repr__`` come from the signature."""

    #: constructor arguments that are not parameters (the part's owner records them itself)
    context_params: ClassVar[tuple[str, ...]] = ()
    #: parameters stored under another attribute name (``{"database": "database_name"}``)
    param_attributes: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Constructor parameters and their defaults (``inspect.Parameter.empty`` where none), in order."""
        out: dict[str, Any] = {}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            more = False
            for p in inspect.signature(init).parameters.values():
                if p.kind is p.VAR_KEYWORD:
                    more = True
                elif p.name != "self" and p.kind is not p.VAR_POSITIONAL and p.name not in out:
                    out[p.name] = p.default
            if not more:
                break
        return {k: v for k, v in out.items() if k not in cls.context_params}

    def params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready data (how a manifest records and rebuilds the part)."""
        return {name: plain(getattr(self, self.param_attributes.get(name, name))) for name in self.param_defaults()}

    def __repr__(self) -> str:
        defaults = self.param_defaults()
        shown = []
        for name, value in self.params().items():
            default = defaults[name]
            if default is inspect.Parameter.empty or plain(default) != value:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"
