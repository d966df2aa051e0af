"""Detectors: from samples over a set of points to phase information and critical points.

Physics: :class:`Observables` (Binder crossing, susceptibility FSS), :class:`HelicityJump`.
Learned (PyTorch through skorch, imported when fitted): :class:`Confusion`,
:class:`SupervisedExtremes`, :class:`PredictionDivergence`, :class:`FisherMetric`,
:class:`Learnability`. Unsupervised: :class:`PCA`. Reference: :class:`OptimalIndicators`.
"""

from ._helicity import HelicityJump
from ._learnability import Learnability
from ._observables import Observables, scan_sites, scan_size, scans_by_size
from ._pca import PCA
from ._posterior import Confusion, FisherMetric, OptimalIndicators, PredictionDivergence, SupervisedExtremes

#: CLI names of the detectors (``phasemapper scan --detect ...``)
DETECTORS = {
    "observables": Observables,
    "helicity": HelicityJump,
    "confusion": Confusion,
    "supervised": SupervisedExtremes,
    "pca": PCA,
    "divergence": PredictionDivergence,
    "fisher": FisherMetric,
    "learnability": Learnability,
    "optimal": OptimalIndicators,
}


def parse_detectors(spec: str) -> list[str]:
    """Split a comma-separated ``--detect`` list and check every name."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError("--detect: give at least one detector name")
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise ValueError(f"--detect: unknown detector {unknown[0]!r}; choose from {', '.join(DETECTORS)}")
    return list(dict.fromkeys(names))


__all__ = [
    "DETECTORS", "parse_detectors",
    "Observables", "HelicityJump", "Confusion", "SupervisedExtremes", "PCA", "PredictionDivergence",
    "FisherMetric", "Learnability", "OptimalIndicators", "scans_by_size", "scan_size", "scan_sites",
]
