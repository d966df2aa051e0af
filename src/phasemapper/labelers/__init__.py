"""Labelers: what a system returned at one point -> probabilities over its phases.

:func:`default_labeler` picks the physics labeler that fits a system.
"""

from __future__ import annotations

from typing import Any

from ._base import Labeler
from ._direct import DetectorLabeler, DirectLabeler
from ._xrd import XRDLabeler
from ._physics import BINDER_CRITICAL_ISING_2D, HopfieldLabeler, OrderParameterLabeler, TasepLabeler

__all__ = ["Labeler", "OrderParameterLabeler", "TasepLabeler", "HopfieldLabeler", "DirectLabeler",
           "DetectorLabeler", "XRDLabeler", "default_labeler", "make_labeler", "BINDER_CRITICAL_ISING_2D"]

_LABELERS = {
    "order_parameter": OrderParameterLabeler,
    "tasep": TasepLabeler,
    "hopfield": HopfieldLabeler,
    "direct": DirectLabeler,
    "xrd": XRDLabeler,
}


def default_labeler(system: Any) -> Labeler:
    """The physics labeler for ``system``: Binder cumulant for lattice magnets, density for TASEP, overlaps for Hopfield, the system's own labels otherwise.

    Examples
    --------
    >>> from phasemapper.systems import TASEP
    >>> from phasemapper.labelers import default_labeler
    >>> type(default_labeler(TASEP(L=20))).__name__
    'TasepLabeler'
    """
    name = getattr(system, "name", "")
    if name in ("ising2d", "blume_capel2d"):
        return OrderParameterLabeler(phases=tuple(system.phases))
    if name == "potts2d":
        # two-component order parameter: U4 runs from 1/3 (disordered) to 2/3 (ordered); midpoint threshold
        return OrderParameterLabeler(critical_value=0.5, phases=tuple(system.phases))
    if name == "tasep":
        return TasepLabeler()
    if name == "hopfield":
        return HopfieldLabeler()
    if name == "experiment" and getattr(system, "xrd", False):
        return XRDLabeler(system.truth.db_phases, system.phases, threshold=max(system.detection_limit, 0.01))
    phases = tuple(getattr(system, "phases", ()))
    if len(phases) == 1:
        raise ValueError(f"phases: a phase map needs at least two distinct phase names; system {name!r} has "
                         f"{list(phases)}")
    if len(phases) >= 2:
        return DirectLabeler(phases)
    raise ValueError(f"no default labeler for system {name!r}; pass labeler=...")


def make_labeler(name: str, **params: Any) -> Labeler:
    """Build a labeler from its registry name and parameters (how a run's manifest restores it)."""
    if name not in _LABELERS:
        raise ValueError(f"unknown labeler {name!r}; known: {', '.join(sorted(_LABELERS))}")
    return _LABELERS[name](**params)


def labeler_spec(labeler: Labeler) -> dict[str, Any]:
    """``{"name", "params"}`` for a registered labeler (``None`` name for one that cannot be rebuilt)."""
    name = next((k for k, v in _LABELERS.items() if type(labeler) is v), None)
    return {"name": name, "params": labeler.params()}
