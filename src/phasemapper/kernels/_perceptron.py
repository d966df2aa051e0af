"""numba kernel for a perceptron trained by SGD on the hinge loss until every training point is fitted."""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from ._rng import next_below

__all__ = ["train_hinge"]


@nb.njit(inline="always", cache=True)
def _margin(v, X, y, i, scale):
    """``y_i v . x_i / sqrt(d)``."""
    total = 0.0
    for k in range(X.shape[1]):
        total += v[k] * X[i, k]
    return total * y[i] * scale


@nb.njit(cache=True)
def train_hinge(X, y, step, batch_size, max_steps, v, state):
    """SGD on ``mean_batch max(0, 1 - y v.x / sqrt(d))`` from ``v`` (updated in place) until every margin is >= 1.

    Each epoch visits the ``P`` rows of ``X`` in a fresh random order (Fisher-Yates on ``state``, a xoshiro256**
    state advanced in place), in batches of ``batch_size`` (the last one may be shorter). A batch's points whose
    margin ``y v.x / sqrt(d)`` is below 1 each add ``step * y x / sqrt(d)`` to ``v``, all margins read before the
    batch's update; ``step`` is the learning rate over the batch size times the loss scale. After each epoch
    every margin is checked. Stops when all are >= 1 or after ``max_steps`` batches; returns
    ``(batches run, fitted)``.
    """
    P, d = X.shape
    scale = 1.0 / math.sqrt(d)
    order = np.arange(P)
    active = np.empty(batch_size, dtype=np.int64)
    steps = 0
    while steps < max_steps:
        for i in range(P - 1, 0, -1):
            j = next_below(state, i + 1)
            order[i], order[j] = order[j], order[i]
        start = 0
        while start < P and steps < max_steps:
            stop = min(start + batch_size, P)
            n_active = 0
            for b in range(start, stop):
                i = order[b]
                if _margin(v, X, y, i, scale) < 1.0:
                    active[n_active] = i
                    n_active += 1
            for a in range(n_active):
                i = active[a]
                c = step * y[i] * scale
                for k in range(d):
                    v[k] += c * X[i, k]
            steps += 1
            start = stop
        fitted = True
        for i in range(P):
            if _margin(v, X, y, i, scale) < 1.0:
                fitted = False
                break
        if fitted:
            return steps, True
    return steps, False
