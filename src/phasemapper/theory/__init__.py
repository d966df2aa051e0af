"""Theory in the loop: models whose uncertain parameters are refit to what the experiments report,
and whose refit diagram becomes the phase map's prior."""

from __future__ import annotations

from typing import Any

from ._calphad_theory import CalphadTheory

__all__ = ["CalphadTheory", "make_theory", "theory_spec"]

_THEORIES = {"calphad": CalphadTheory}


def make_theory(name: str, **params: Any) -> Any:
    """Rebuild a theory from its registry name and parameters (how a run's manifest restores it)."""
    if name not in _THEORIES:
        raise ValueError(f"unknown theory {name!r}; known: {', '.join(sorted(_THEORIES))}")
    return _THEORIES[name].from_params(**params)


def theory_spec(theory: Any) -> dict[str, Any]:
    """``{"name", "params"}`` of a registered theory (``None`` name for one that cannot be rebuilt)."""
    name = next((k for k, v in _THEORIES.items() if type(theory) is v), None)
    return {"name": name, "params": theory.params()}
