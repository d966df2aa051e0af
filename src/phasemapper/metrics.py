"""Accuracy of a phase map against a reference: misclassified area, boundary distances (unit-cube coordinates)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from ._space import Space

__all__ = ["misclassified_area", "boundary_distance", "label_grid", "EvaluationsToAccuracy"]


def label_grid(source: Any, space: Space | None = None, grid_size: int = 100) -> tuple[np.ndarray, Space]:
    """Phase names on a regular grid (``grid_size`` per axis, bounds included) from a phase-map Dataset,
    a fitted PhaseMap, a System (its ``reference_phase``) or a function ``points -> names``."""
    if isinstance(source, xr.Dataset):
        if "label" not in source:
            raise ValueError("a phase-map Dataset needs a 'label' variable")
        return np.asarray(source["label"].values).astype(str), space or _space_of(source)
    space = space or getattr(source, "space", None)
    if not isinstance(space, Space):
        raise ValueError("pass space= for a reference given as a function")
    grid = space.grid(grid_size)
    if hasattr(source, "predict_proba"):
        labels = source.predict(grid)
    elif hasattr(source, "reference_phase"):
        labels = source.reference_phase(grid)
    elif callable(source):
        labels = source(grid)
    else:
        raise TypeError(f"cannot read phase labels from {type(source).__name__}")
    return np.asarray(labels).astype(str).reshape(space.grid_shape(grid_size)), space


def _space_of(ds: xr.Dataset) -> Space:
    from ._space import Axis

    if "space" in ds.attrs:
        return Space.from_dict(json.loads(ds.attrs["space"]))
    axes = [str(d) for d in ds["label"].dims]
    return Space(
        [Axis(a, float(ds[a].min()), float(ds[a].max()), scale=ds[a].attrs.get("scale", "linear")) for a in axes]
    )


def _pair(predicted: Any, reference: Any, space: Space | None, grid_size: int) -> tuple[np.ndarray, np.ndarray, Space]:
    pred, space = label_grid(predicted, space, grid_size)
    if isinstance(reference, xr.Dataset):
        ref, _ = label_grid(reference, space)
    else:
        size = predicted.attrs.get("grid_size", pred.shape[0]) if isinstance(predicted, xr.Dataset) else grid_size
        ref, _ = label_grid(reference, space, int(size if size is not None else pred.shape[0]))
    if pred.shape != ref.shape:
        raise ValueError(f"predicted and reference grids differ in shape: {pred.shape} vs {ref.shape}")
    return pred, ref, space


def misclassified_area(predicted: Any, reference: Any, space: Space | None = None, grid_size: int = 100) -> float:
    """Fraction of the space (unit-cube measure) where the predicted phase differs from the reference.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.metrics import misclassified_area
    >>> space = Space([Axis("x", 0, 1)])
    >>> round(misclassified_area(lambda p: (p[:, 0] > 0.6).astype(str), lambda p: (p[:, 0] > 0.5).astype(str),
    ...                          space=space, grid_size=1001), 3)
    0.1
    """
    pred, ref, _ = _pair(predicted, reference, space, grid_size)
    return float(np.mean(pred != ref))


def _boundary_points(labels: np.ndarray) -> np.ndarray:
    """Midpoints (unit-cube coordinates) between neighbouring grid cells with different labels."""
    out = []
    shape = labels.shape
    for axis in range(labels.ndim):
        a = np.take(labels, range(shape[axis] - 1), axis=axis)
        b = np.take(labels, range(1, shape[axis]), axis=axis)
        idx = np.argwhere(a != b).astype(float)
        idx[:, axis] += 0.5
        out.append(idx / (np.array(shape) - 1))
    return np.concatenate(out) if out else np.empty((0, labels.ndim))


def boundary_distance(
    predicted: Any, reference: Any, space: Space | None = None, grid_size: int = 100
) -> dict[str, float]:
    """Mean (symmetric) and Hausdorff distance between predicted and reference boundaries, unit-cube units.

    Examples
    --------
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.metrics import boundary_distance
    >>> space = Space([Axis("x", 0, 1), Axis("y", 0, 1)])
    >>> d = boundary_distance(lambda p: (p[:, 0] > 0.6).astype(str), lambda p: (p[:, 0] > 0.5).astype(str),
    ...                       space=space, grid_size=101)
    >>> round(d["hausdorff"], 3), round(d["mean"], 3)
    (0.1, 0.1)
    """
    from scipy.spatial import cKDTree

    pred, ref, space = _pair(predicted, reference, space, grid_size)
    if space.unit_ndim != space.ndim:
        raise ValueError(f"boundary distances are measured on box grids, not on {space!r}")
    bp, br = _boundary_points(pred), _boundary_points(ref)
    if len(bp) == 0 or len(br) == 0:
        return {
            "mean": float("inf") if len(bp) != len(br) else 0.0,
            "hausdorff": float("inf") if len(bp) != len(br) else 0.0,
        }
    d_pr = cKDTree(br).query(bp)[0]
    d_rp = cKDTree(bp).query(br)[0]
    return {"mean": float(0.5 * (d_pr.mean() + d_rp.mean())), "hausdorff": float(max(d_pr.max(), d_rp.max()))}


class EvaluationsToAccuracy:
    """Campaign callback: after each batch, the misclassified area of the current map; stops at ``target``.

    ``history`` holds ``(n_evaluations, area)`` per batch and ``evaluations`` the
    count at which the area first reached ``target`` (``None`` if never).

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.systems import ThreePhase
    >>> from phasemapper.metrics import EvaluationsToAccuracy
    >>> system = ThreePhase(noise=0.0)
    >>> track = EvaluationsToAccuracy(system, target=0.2, grid_size=40)
    >>> _ = pm.Campaign(system, executor=pm.SerialExecutor(), batch_size=8).run(budget=64, callbacks=[track], progress=False)
    >>> track.evaluations is not None and track.history[-1][1] <= 0.2
    True
    """

    def __init__(self, reference: Any, target: float = 0.02, grid_size: int = 100) -> None:
        if not 0 < target < 1:
            raise ValueError(f"target must be a fraction in (0, 1), got {target!r}")
        self.reference, self.target, self.grid_size = reference, float(target), int(grid_size)
        self.history: list[tuple[int, float]] = []
        self.evaluations: int | None = None
        self._ref: np.ndarray | None = None

    def __call__(self, campaign: Any, info: dict[str, Any]) -> bool:
        model = campaign.fitted_map()
        if self._ref is None:  # the reference grid is computed once per campaign
            self._ref, _ = label_grid(self.reference, model.space, self.grid_size)
        area = float(np.mean(label_grid(model, model.space, self.grid_size)[0] != self._ref))
        self.history.append((int(info["n_evaluations"]), area))
        if area <= self.target and self.evaluations is None:
            self.evaluations = int(info["n_evaluations"])
        return self.evaluations is not None
