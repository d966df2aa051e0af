"""The shared fit of the sample-based detectors: per size and per line of the grid, an indicator curve,
its peak or crossing with bootstrap replicas over samples, and a finite-size extrapolation."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._types import CriticalPoint
from ._detector import Detector
from ._grid import ParameterGrid
from ._indicators import grid_resolution
from ._scans import check_detector_params, extrapolate_to_infinite_size, scans_by_size

__all__ = ["Analysis", "Detector", "LineDetector"]


@dataclass
class Analysis:
    """One indicator of a line: ``curve(per_point_data) -> (x, y)`` and ``locate(x, y) -> value``
    (``None``: a curve without an estimate of its own)."""

    name: str
    curve: Callable[[Any], tuple[np.ndarray, np.ndarray]]
    locate: Callable[[np.ndarray, np.ndarray], float] | None


class LineDetector(Detector):
    """Base of detectors that turn per-sample data into indicator curves along ``axis``.

    Subclasses implement ``_per_sample(ds, grid)`` (an array whose first two axes
    are point and sample, e.g. a posterior ``log p(j | x)``), ``_line(data, points, x)``
    (restrict that to one line of the grid, points ordered along the axis, whose values are ``x``) and
    ``_analyses(x)`` (the indicators of a line). ``fit`` does the rest: bootstrap
    over samples, uncertainties, the finite-size extrapolation, xarray results.
    A detector that reports more (phase probabilities per point, a second estimate) does it in
    ``_finish(fitted)``, called at the end of ``fit`` with each size's grid, scan and per-sample data.
    """

    axis: str
    n_bootstrap: int
    nu: float
    seed: int
    method: str = ""

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> Any:
        raise NotImplementedError

    def _line(self, data: Any, points: np.ndarray, x: np.ndarray) -> Any:
        return data[points]

    def _resample(self, data: Any, idx: np.ndarray) -> Any:
        return data[np.arange(idx.shape[0])[:, None], idx]

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        raise NotImplementedError

    def _finish(self, fitted: dict[int, tuple[ParameterGrid, xr.Dataset, Any]]) -> None:
        """After the indicators and critical points: ``fitted`` maps each size to its grid, scan and
        per-sample data (sizes ascending)."""

    def fit(self, scans: Mapping[Any, xr.Dataset] | Sequence[xr.Dataset] | xr.Dataset) -> LineDetector:
        """Fit on one scan, ``{L: scan}`` or a list of scans (1-D lines or 2-D grids)."""
        check_detector_params(self.n_bootstrap, self.nu)
        by_size = scans_by_size(scans)
        rng = np.random.default_rng(self.seed)
        with self._fit_progress(by_size):
            return self._fit_sizes(by_size, rng)

    def _fit_sizes(self, by_size: dict[int, xr.Dataset], rng: np.random.Generator) -> LineDetector:
        self.estimates_: dict[str, dict[int, list[tuple[dict[str, float], float, float, np.ndarray]]]] = {}
        curves: dict[str, dict[int, xr.DataArray]] = {}
        self.fit_seconds_: dict[int, float] = {}
        fitted: dict[int, tuple[ParameterGrid, xr.Dataset, Any]] = {}
        for L, ds in by_size.items():
            started = time.perf_counter()
            grid = ParameterGrid.from_scan(ds, self.axis)
            data = self._per_sample(ds, grid)
            fitted[L] = (grid, ds, data)
            per_row: dict[str, list[xr.DataArray]] = {}
            for at, points in grid.rows():
                x = grid.values[0]
                line = self._line(data, points, x)
                n_points, n_samples = len(points), int(line.shape[1])
                replicas = [rng.integers(0, n_samples, size=(n_points, n_samples)) for _ in range(self.n_bootstrap)]
                analyses = self._analyses(x)
                self._indicator_name = analyses[0].name
                for analysis in analyses:
                    cx, cy = analysis.curve(line)
                    curve = xr.DataArray(cy, coords={self.axis: cx}, dims=[self.axis], name=analysis.name)
                    per_row.setdefault(analysis.name, []).append(
                        curve.expand_dims({k: [v] for k, v in at.items()}) if at else curve
                    )
                    if analysis.locate is None:
                        continue
                    value = analysis.locate(cx, cy)
                    boot = np.array([analysis.locate(*analysis.curve(self._resample(line, r))) for r in replicas])
                    finite = boot[np.isfinite(boot)]
                    spread = finite.std(ddof=1) if finite.size >= 2 else np.nan
                    sigma = float(np.hypot(spread, grid_resolution(x)))
                    self.estimates_.setdefault(analysis.name, {}).setdefault(L, []).append((at, value, sigma, boot))
            self.fit_seconds_[L] = time.perf_counter() - started
            self._size_done()
            for name, rows in per_row.items():
                curves.setdefault(name, {})[L] = (
                    xr.concat(rows, dim=next(iter(rows[0].dims))) if len(rows) > 1 else rows[0]
                )
        self.curves_ = {
            name: xr.concat(list(by_L.values()), dim=xr.Variable("L", list(by_L))) for name, by_L in curves.items()
        }
        self.indicator_ = self.curves_[self._indicator_name]
        self.critical_points_ = self._critical_points()
        self._finish(fitted)
        return self

    def _set_phase_proba(self, grid: ParameterGrid, proba: np.ndarray, phases: Sequence[str]) -> None:
        """``proba_`` (``(point, phase)`` probabilities on the grid) and ``labels_`` (the likelier phase)."""
        self.proba_ = xr.DataArray(
            grid.to_grid(proba),
            coords={**dict(zip(grid.axes, grid.values)), "phase": list(phases)},
            dims=(*grid.axes, "phase"),
            name="proba",
        )
        self.labels_ = self.proba_.idxmax("phase").rename("label")

    def _critical_points(self) -> list[CriticalPoint]:
        out: list[CriticalPoint] = []
        for name, by_L in self.estimates_.items():
            sizes = sorted(by_L)
            n_rows = len(by_L[sizes[0]])
            for r in range(n_rows):
                at = by_L[sizes[0]][r][0] or None
                values = np.array([by_L[L][r][1] for L in sizes])
                sigmas = np.array([by_L[L][r][2] for L in sizes])
                ok = np.isfinite(values)
                if len(sizes) >= 2 and ok.sum() >= 2:
                    x = np.array(sizes, dtype=float)[ok] ** (-1.0 / self.nu)
                    replicas = np.array([np.nan_to_num(by_L[L][r][3], nan=by_L[L][r][1]) for L in sizes])[ok]
                    value, sigma = extrapolate_to_infinite_size(x, values[ok], sigmas[ok], replicas)
                    out.append(CriticalPoint(self.axis, value, sigma, f"{name} (finite-size extrapolation)", at=at))
                for L, v, s in zip(sizes, values, sigmas):
                    if np.isfinite(v):
                        out.append(CriticalPoint(self.axis, float(v), float(s), f"{name} L={L}", at=at))
        return out
