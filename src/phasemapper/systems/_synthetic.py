"""A synthetic three-phase diagram with label noise: the test bed for mapping methods."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_number
from .._space import Axis, Space
from ._base import register_system
from ._function import FunctionSystem

__all__ = ["ThreePhase"]


def _exact_phase(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = y > 0.65 + 0.12 * np.sin(2 * math.pi * x)
    b = ~a & (x + 0.3 * y < 0.55)
    return np.where(a, 0, np.where(b, 1, 2))


class _NoisyLabel:
    """Picklable label function: the exact phase, replaced by another phase with probability ``noise``."""

    def __init__(self, noise: float) -> None:
        self.noise = noise

    def __call__(self, point: dict[str, float], rng: np.random.Generator) -> int:
        k = int(_exact_phase(np.array(point["x"]), np.array(point["y"])))
        if rng.random() < self.noise:
            k = (k + 1 + int(rng.integers(2))) % 3
        return k


class ThreePhase(FunctionSystem):
    """Three phases on the unit square with curved and slanted boundaries and label noise.

    Phase ``A`` above ``y = 0.65 + 0.12 sin(2 pi x)``; below it ``B`` where
    ``x + 0.3 y < 0.55`` and ``C`` elsewhere (a triple point near
    ``(0.42, 0.44)``). Each sample's label is replaced by one of the other
    two phases with probability ``noise``.

    Examples
    --------
    >>> from phasemapper.systems import ThreePhase
    >>> ThreePhase().reference_phase([[0.5, 0.9], [0.1, 0.2], [0.9, 0.2]]).tolist()
    ['A', 'B', 'C']
    """

    name = "three_phase"
    reference = "exact (synthetic)"

    def __init__(self, *, noise: float = 0.05) -> None:
        self.noise = check_number("noise", noise, low=0.0, high=1.0, high_open=True)
        super().__init__(
            _NoisyLabel(self.noise),
            Space([Axis("x", 0.0, 1.0), Axis("y", 0.0, 1.0)]),
            phases=("A", "B", "C"),
            name="three_phase",
        )

    def reference_phase(self, points: Any) -> np.ndarray:
        pts = self.points(points)
        return np.asarray(self.phases)[_exact_phase(pts[:, 0], pts[:, 1])]


register_system("three_phase", ThreePhase)
