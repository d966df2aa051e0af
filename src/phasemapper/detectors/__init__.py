"""Detectors: from samples over a set of points to phase information and critical points.

Physics: :class:`Observables` (Binder crossing, susceptibility FSS), :class:`HelicityJump`.
Learned (PyTorch through skorch, imported when fitted): :class:`Confusion`,
:class:`SupervisedExtremes`, :class:`PredictionDivergence`, :class:`FisherMetric`,
:class:`Learnability`; in a 2-D space, active contours: :class:`SnakeNet`. Unsupervised: :class:`PCA`; persistent homology (GUDHI): :class:`Topology`. Generative:
:class:`RBM` (the generalisation error of restricted Boltzmann machines, split into model and data errors). Reference: :class:`OptimalIndicators`.
"""

import inspect
from typing import Any

from .._registry import Registry
from ._generative import RBM
from ._helicity import HelicityJump
from ._learnability import Learnability
from ._observables import Observables
from ._pca import PCA
from ._posterior import (
    Confusion,
    FisherMetric,
    OptimalIndicators,
    PredictionDivergence,
    SupervisedExtremes,
)
from ._scans import scan_sites, scan_size, scans_by_size
from ._snake import SnakeNet
from ._topology import Topology

#: CLI names of the detectors (``phasemapper scan --detect ...``)
DETECTORS: Registry[Any] = Registry(
    "detector",
    {
        "observables": Observables,
        "helicity": HelicityJump,
        "confusion": Confusion,
        "supervised": SupervisedExtremes,
        "pca": PCA,
        "divergence": PredictionDivergence,
        "fisher": FisherMetric,
        "learnability": Learnability,
        "optimal": OptimalIndicators,
        "topology": Topology,
        "rbm": RBM,
        "snake": SnakeNet,
    },
)


def parse_detectors(spec: str) -> dict[str, dict[str, Any]]:
    """Parse a ``--detect`` list: ``NAME[:KEY=VALUE[:KEY=VALUE...]]``, comma-separated.

    Returns ``{name: options}``; every name and option key is checked against the
    detector's constructor (``axis`` and ``seed`` are the scan's own). Values are
    read as int, float, ``true``/``false``/``none`` or else a string; the detector
    checks them when it is fitted.

    Examples
    --------
    >>> parse_detectors("divergence:locate=drop:n_bootstrap=20, pca")
    {'divergence': {'locate': 'drop', 'n_bootstrap': 20}, 'pca': {}}
    """
    items = [n.strip() for n in spec.split(",") if n.strip()]
    if not items:
        raise ValueError("--detect: give at least one detector name")
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, *pairs = [part.strip() for part in item.split(":")]
        if name not in DETECTORS:
            raise ValueError(f"--detect: unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
        if name in out:
            raise ValueError(f"--detect: detector {name!r} is given twice")
        allowed = [p for p in inspect.signature(DETECTORS[name]).parameters if p not in ("axis", "seed")]
        options: dict[str, Any] = {}
        for pair in pairs:
            key, sep, value = (part.strip() for part in pair.partition("="))
            if not sep or not key:
                raise ValueError(f"--detect: option {pair!r} of {name!r} must be KEY=VALUE")
            if key not in allowed:
                raise ValueError(f"--detect: {name!r} has no option {key!r}; options: {', '.join(allowed)}")
            options[key] = _option_value(value)
        out[name] = options
    return out


def _option_value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


__all__ = [
    "DETECTORS",
    "parse_detectors",
    "Observables",
    "HelicityJump",
    "Confusion",
    "SupervisedExtremes",
    "PCA",
    "PredictionDivergence",
    "FisherMetric",
    "Learnability",
    "OptimalIndicators",
    "Topology",
    "RBM",
    "SnakeNet",
    "scans_by_size",
    "scan_size",
    "scan_sites",
]
