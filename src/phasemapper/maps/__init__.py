"""Phase-map models over a space: probabilistic classifiers with priors, entropy and boundaries."""

from __future__ import annotations

import json
import os
from typing import Any

from .._registry import Registry
from .._space import Space
from ._base import PhaseMap, entropy
from ._gp import GPClassifierMap
from ._knn import KNNMap
from ._phase_property import PhaseProperty
from ._priors import BoundaryPrior, FieldPrior, Priors, RegionPrior, load_priors
from ._transitions import critical_points_from_map

__all__ = [
    "PhaseMap",
    "GPClassifierMap",
    "KNNMap",
    "PhaseProperty",
    "Priors",
    "RegionPrior",
    "BoundaryPrior",
    "FieldPrior",
    "load_priors",
    "entropy",
    "critical_points_from_map",
    "make_map",
    "map_from_dict",
    "load_map",
    "MAPS",
]

#: the phase-map models by name (``"model"`` in a manifest)
MAPS: Registry[PhaseMap] = Registry("map", {"gp": GPClassifierMap, "knn": KNNMap})


def make_map(name: str, space: Space, phases: Any, **params: Any) -> PhaseMap:
    """Build a map by name (``"gp"``, ``"knn"`` or a class name)."""
    return MAPS.build(name, space, phases, **params)


def map_from_dict(spec: dict[str, Any]) -> PhaseMap:
    """Rebuild (and refit) a map from :meth:`PhaseMap.to_dict`."""
    m = make_map(spec["model"], Space.from_dict(spec["space"]), spec["phases"], **spec["params"])
    m.priors.extend(spec.get("priors", []))
    if spec.get("points"):
        m.fit(spec["points"], spec["proba"])
    return m


def load_map(path: str | os.PathLike) -> PhaseMap:
    """Load a map written by :meth:`PhaseMap.save`."""
    with open(path) as fh:
        return map_from_dict(json.load(fh))
