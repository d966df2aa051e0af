"""Theory in the loop: models whose uncertain parameters are refit to what the experiments report,
and whose refit diagram becomes the phase map's prior."""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from ._base import Theory
from ._calphad_theory import CalphadTheory

__all__ = ["Theory", "CalphadTheory", "THEORIES", "make_theory", "theory_spec"]

#: the theories by name (``"theory"`` in a manifest)
THEORIES: Registry[Any] = Registry("theory", {"calphad": CalphadTheory})


def make_theory(name: str, **params: Any) -> Any:
    """Rebuild a theory from its registry name and parameters (how a run's manifest restores it)."""
    return THEORIES[name].from_params(**params)  # type: ignore[attr-defined]  # every registered theory has it


def theory_spec(theory: Any) -> dict[str, Any]:
    """``{"name", "params"}`` of a registered theory (``None`` name for one that cannot be rebuilt)."""
    return THEORIES.spec(theory)
