"""Metrics of a map against the truth: closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from phasemapper.metrics import boundary_distance, misclassified_area

from square import SQUARE


# ------------------------------------------------------------------- metrics
def test_metrics_closed_forms():
    pred = lambda p: np.where(p[:, 0] > 0.6, "b", "a")  # noqa: E731
    ref = lambda p: np.where(p[:, 0] > 0.5, "b", "a")  # noqa: E731
    assert misclassified_area(pred, ref, SQUARE, 201) == pytest.approx(0.1, abs=0.01)
    d = boundary_distance(pred, ref, SQUARE, 201)
    assert d["mean"] == pytest.approx(0.1, abs=0.01) and d["hausdorff"] == pytest.approx(0.1, abs=0.01)
