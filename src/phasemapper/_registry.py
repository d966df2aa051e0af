"""Named parts: one registry type maps names to classes and classes back to names.

Systems, planners, maps, labelers, theories and detectors each have a :class:`Registry`. The CLI lists its
choices from it, a manifest stores a part under its registry name and rebuilds it with :meth:`Registry.build`.
A class's own name is accepted too, so a name written by hand or by an older manifest still resolves.

Examples
--------
>>> from phasemapper.planners import PLANNERS
>>> PLANNERS.name_of(PLANNERS["sobol"])
'sobol'
>>> PLANNERS["Sobol"] is PLANNERS["sobol"]
True
>>> PLANNERS["simplex"]
Traceback (most recent call last):
...
ValueError: unknown planner 'simplex'; known: grid, sobol, random, boundary, entropy, refine
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Mapping[str, Callable[..., T]], Generic[T]):
    """Names -> classes (or factories) of one kind of part, and back.

    Parameters
    ----------
    kind : str
        What the parts are, for messages (``"planner"``).
    entries : mapping, optional
        Initial ``name -> class``; names are stored lower-case.
    """

    def __init__(self, kind: str, entries: Mapping[str, Callable[..., T]] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        for name, cls in (entries or {}).items():
            self.register(name, cls)

    def register(self, name: str, cls: Callable[..., T]) -> None:
        """Add ``cls`` under ``name`` (replacing what was there)."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} name must be a non-empty string, got {name!r}")
        self._entries[name.lower()] = cls

    def key(self, name: Any) -> str:
        """The registry name for ``name`` (a registry name in any case, or a class name)."""
        if isinstance(name, str):
            if name.lower() in self._entries:
                return name.lower()
            for key, cls in self._entries.items():
                if getattr(cls, "__name__", None) == name:
                    return key
        raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self._entries)}")

    def __getitem__(self, name: str) -> Callable[..., T]:
        return self._entries[self.key(name)]

    def __contains__(self, name: object) -> bool:
        try:
            self.key(name)
        except ValueError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def name_of(self, part: Any) -> str | None:
        """The registry name of ``part`` (a registered class or factory, or an instance of a registered class),
        ``None`` if it is not registered."""
        cls = part if isinstance(part, type) or part in self._entries.values() else type(part)
        return next((k for k, v in self._entries.items() if v is cls), None)

    def build(self, name: str, *args: Any, **params: Any) -> T:
        """The part ``name`` built with ``args`` and ``params``."""
        return self[name](*args, **params)

    def spec(self, part: Any) -> dict[str, Any]:
        """``{"name", "params"}`` that :meth:`build` rebuilds ``part`` from (``name`` is ``None`` if unregistered)."""
        return {"name": self.name_of(part), "params": part.params()}

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
