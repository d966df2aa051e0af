"""Detectors: from samples over a set of points to phase information and critical points."""

from ._observables import Observables, scans_by_size

__all__ = ["Observables", "scans_by_size"]
