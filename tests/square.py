"""The unit square the map, planner and campaign tests work in, and its truth: phase 1 right of x = 1/2."""

from __future__ import annotations

import numpy as np

import phasemapper as pm

SQUARE = pm.Space([pm.Axis("x", 0.0, 1.0), pm.Axis("y", 0.0, 1.0)])


def right_half(points) -> np.ndarray:
    """The phase of each point: 1 right of x = 1/2, else 0."""
    return (np.asarray(points)[:, 0] > 0.5).astype(int)
