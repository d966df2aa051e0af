"""Labelers: what a system returned at one point -> probabilities over its phases.

:func:`default_labeler` picks the physics labeler that fits a system.
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from ._base import Labeler
from ._direct import DetectorLabeler, DirectLabeler
from ._physics import (
    BINDER_CRITICAL_ISING_2D,
    HopfieldLabeler,
    OrderParameterLabeler,
    TasepLabeler,
)
from ._spectra import SpectraLabeler, pattern_similarity
from ._training import GANPhaseLabeler, PerceptronPhaseLabeler, RunShareLabeler, SGDPhaseLabeler
from ._xrd import XRDLabeler

__all__ = [
    "Labeler",
    "OrderParameterLabeler",
    "TasepLabeler",
    "HopfieldLabeler",
    "DirectLabeler",
    "DetectorLabeler",
    "XRDLabeler",
    "SpectraLabeler",
    "pattern_similarity",
    "SGDPhaseLabeler",
    "PerceptronPhaseLabeler",
    "GANPhaseLabeler",
    "RunShareLabeler",
    "LABELERS",
    "default_labeler",
    "make_labeler",
    "BINDER_CRITICAL_ISING_2D",
]

#: the labelers by name (``"labeler"`` in a manifest)
LABELERS: Registry[Labeler] = Registry(
    "labeler",
    {
        "order_parameter": OrderParameterLabeler,
        "tasep": TasepLabeler,
        "hopfield": HopfieldLabeler,
        "direct": DirectLabeler,
        "xrd": XRDLabeler,
        "sgd": SGDPhaseLabeler,
        "perceptron": PerceptronPhaseLabeler,
        "gan": GANPhaseLabeler,
    },
)


def default_labeler(system: Any) -> Labeler:
    """The labeler ``system`` names for itself (:meth:`~phasemapper.systems.System.default_labeler`).

    Examples
    --------
    >>> from phasemapper.systems import TASEP
    >>> from phasemapper.labelers import default_labeler
    >>> type(default_labeler(TASEP(L=20))).__name__
    'TasepLabeler'
    """
    if not callable(getattr(system, "default_labeler", None)):
        raise TypeError(f"system must be a phasemapper System, got {type(system).__name__}")
    return system.default_labeler()


def make_labeler(name: str, **params: Any) -> Labeler:
    """Build a labeler from its registry name and parameters (how a run's manifest restores it)."""
    return LABELERS.build(name, **params)


def labeler_spec(labeler: Labeler) -> dict[str, Any]:
    """``{"name", "params"}`` for a registered labeler (``None`` name for one that cannot be rebuilt)."""
    return LABELERS.spec(labeler)
