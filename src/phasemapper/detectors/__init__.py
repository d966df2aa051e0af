"""Detectors: from samples over a set of points to phase information and critical points."""

from ._helicity import HelicityJump
from ._observables import Observables, scan_sites, scan_size, scans_by_size

__all__ = ["Observables", "HelicityJump", "scans_by_size", "scan_size", "scan_sites"]
