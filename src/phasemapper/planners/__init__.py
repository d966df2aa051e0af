"""Planners: where to evaluate next (ask/tell with pending points and batches)."""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .._space import Space
from ._adaptive import Boundary, Entropy, Refine
from ._base import Planner
from ._pool import Pool
from ._space_filling import Grid, Random, Sobol

__all__ = [
    "Planner",
    "Grid",
    "Sobol",
    "Random",
    "Boundary",
    "Entropy",
    "Refine",
    "Pool",
    "PLANNERS",
    "MAP_PLANNERS",
    "make_planner",
    "planner_from_dict",
]

#: the planners by name (``--planner`` on the CLI, ``"planner"`` in a manifest)
PLANNERS: Registry[Planner] = Registry(
    "planner",
    {"grid": Grid, "sobol": Sobol, "random": Random, "boundary": Boundary, "entropy": Entropy, "refine": Refine},
)


#: planners steered by a phase map (built with ``phases`` and ``model``)
MAP_PLANNERS = ("boundary", "entropy")


def make_planner(name: str, space: Space, **params: Any) -> Planner:
    """Build a planner by name (``grid``, ``sobol``, ``random``, ``boundary``, ``refine``) or class name."""
    return PLANNERS.build(name, space, **params)


def planner_from_dict(spec: dict[str, Any], model: Any = None) -> Planner:
    """Rebuild a planner (parameters, told and pending points) from :meth:`Planner.to_dict`; a
    :class:`Pool`'s record (``"pool"``: its candidates) rebuilds the pool around its planner."""
    if "pool" in spec:
        return _restore(
            Pool(planner_from_dict({k: v for k, v in spec.items() if k != "pool"}, model), spec["pool"]), spec
        )
    params = dict(spec["params"])
    if PLANNERS.key(spec["planner"]) in MAP_PLANNERS and model is not None:
        params["model"] = model
    return _restore(make_planner(spec["planner"], Space.from_dict(spec["space"]), **params), spec)


def _restore(planner: Planner, spec: dict[str, Any]) -> Planner:
    """Tell ``planner`` the told and pending points of its record."""
    told = spec.get("told", {})
    if told.get("points"):
        planner.tell(told["points"], told["values"])
    if spec.get("pending"):
        planner.tell_pending(spec["pending"])
    return planner
