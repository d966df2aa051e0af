"""Snakes in a 2-D parameter space: active contours moved by a learner's disagreement with their guess."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._checks import check_number, check_positive_int, check_seed
from .._types import CriticalPoint
from ._detector import Detector
from ._grid import ParameterGrid
from ._posterior import _NetworkParams

__all__ = ["SnakeNet", "signed_distance"]


def signed_distance(points: Any, nodes: Any) -> Any:
    """Signed distance of each point to an open polyline whose end segments continue as rays (PyTorch).

    Positive on the left of the direction of travel (from the first node to the last). ``points``
    ``(n, 2)``, ``nodes`` ``(m, 2)``, both tensors; the result ``(n,)`` is differentiable in the nodes.

    Examples
    --------
    >>> import torch
    >>> line = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)   # along x: left is y > 0
    >>> signed_distance(torch.tensor([[0.5, 0.2], [3.0, -0.5]], dtype=torch.float64), line).tolist()
    [0.2, -0.5]
    """
    import torch

    a, b = nodes[:-1], nodes[1:]
    d = b - a
    rel = points[:, None, :] - a[None, :, :]
    t = (rel * d).sum(-1) / (d * d).sum(-1).clamp_min(1e-12)
    low = torch.zeros_like(t)
    high = torch.ones_like(t)
    low[:, 0] = -torch.inf  # the first segment extends backwards, the last forwards
    high[:, -1] = torch.inf
    t = torch.minimum(torch.maximum(t, low), high)
    offset = rel - t[..., None] * d[None]
    distance = offset.norm(dim=-1)
    nearest = distance.argmin(dim=1)
    rows = torch.arange(len(points))
    cross = d[nearest, 0] * rel[rows, nearest, 1] - d[nearest, 1] * rel[rows, nearest, 0]
    return torch.sign(cross) * distance[rows, nearest]


def _resample(nodes: np.ndarray, n: int) -> np.ndarray:
    """``n`` nodes evenly spaced by arc length along a polyline."""
    step = np.linalg.norm(np.diff(nodes, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(step)])
    if s[-1] <= 0:
        return np.repeat(nodes[:1], n, axis=0)
    target = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(target, s, nodes[:, k]) for k in range(2)])


class SnakeNet(_NetworkParams, Detector):
    """Phase boundaries in a 2-D parameter space as active contours driven by a learner's confusion.

    After Liu & van Nieuwenburg (Phys. Rev. Lett. 120, 176401, 2018: a guesser and a learner cooperate,
    the guesser being an active contour, a "snake") and Sun et al. ("Snake net and balloon force with a
    neural network for detecting multiple phases", 2022: several snakes for several boundaries, a
    balloon force that decays with the iterations). Each snake is an open polyline across the scan's
    2-D grid (axes scaled to the unit square) whose ends slide along the edges they start on. It
    guesses a label for every point: the side of the snake, softened over ``width``.

    The learner is multi-task, as in :class:`Confusion`: one network learns which point a sample came
    from, held out by cross-fitting (:class:`ConfigurationClassifier` on configurations, or a
    multinomial logistic regression on quadratic features of observables, for systems whose
    configurations say nothing by themselves, such as a Hopfield network with fresh patterns per
    sample). For any guess it then gives the Bayes-optimal learner of that guess,
    ``P(left | x) = sum_j p(j | x) g_j``, and the snake moves down the learner's class-balanced
    cross-entropy against the guess (plus elasticity and rigidity of the polyline, and a balloon force
    along the normals, ``balloon * exp(-iteration / balloon_decay)``). A guess that splits a phase is
    hard to learn; one along a phase boundary is easy. ``n_snakes`` snakes give up to ``2 ** n_snakes``
    regions (the sides of every snake).

    The snakes are moved ``n_runs`` times on bootstrap resamples of the samples (the learner fixed);
    each boundary is the mean polyline and its band the spread of the runs.

    Parameters
    ----------
    axis : str, optional
        The grid's ``x`` axis (critical points are read along it); ``y`` is the scan's other varying axis.
        Default: the first varying axis.
    n_snakes : int
    initial : sequence of (n, 2) arrays, optional
        Starting polylines in axis units, one per snake; default: straight lines from bottom to top,
        the k-th at ``(k + 1) / (n_snakes + 1)`` of the way along ``x``.
    features : "configuration", sequence of str, or str
        The learner's inputs: the configurations, or these observables (a string joins several with
        ``+``, as the command line gives them: ``features=magnetization+energy``).
    n_nodes, n_iterations : int
    snake_rate : float
        The largest node step per iteration, in unit-square coordinates.
    width : float
        Softness of the guess, in unit-square coordinates.
    elasticity, rigidity, balloon, balloon_decay : float
    n_runs : int
    max_epochs, cross_fit, smooth_degree, seed : as in :class:`Confusion` (the learner).

    Attributes
    ----------
    boundaries_ : list of ndarray
        Per snake the mean polyline ``(n_nodes, 2)`` in axis units.
    bands_ : list of ndarray
        Per snake the standard deviation of each node's two coordinates over the runs, in axis units.
    history_ : ndarray
        ``(n_runs, n_iterations + 1, n_snakes, n_nodes, 2)``: every run's node positions, axis units.
    proba_ : xarray.DataArray
        Per grid point and snake, the learner's mean ``P(left | x)`` for the final guess.
    labels_ : xarray.DataArray
        Region per grid point: the sides of the snakes as a string (``"10"``: left of snake 0, right of
        snake 1).
    critical_points_ : list of CriticalPoint
        Where each snake crosses each line of constant ``y``: ``x``, with the runs' spread there.

    Examples
    --------
    >>> import numpy as np, phasemapper as pm
    >>> from phasemapper.detectors import SnakeNet
    >>> T, D = [v.ravel() for v in np.meshgrid(np.linspace(1.0, 2.2, 5), [0.0, 1.0, 1.5])]
    >>> ds = pm.scan(pm.systems.BlumeCapel2D(L=8), {"T": T, "D": D}, 20, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> det = SnakeNet(n_iterations=20, n_runs=3, n_nodes=4, max_epochs=2).fit(ds)
    >>> len(det.boundaries_), det.boundaries_[0].shape
    (1, (4, 2))
    """

    def __init__(
        self,
        axis: str | None = None,
        *,
        n_snakes: int = 1,
        initial: Sequence[Any] | None = None,
        features: str | Sequence[str] = "configuration",
        n_nodes: int = 12,
        n_iterations: int = 400,
        snake_rate: float = 0.01,
        width: float = 0.04,
        elasticity: float = 0.01,
        rigidity: float = 0.05,
        balloon: float = 0.0,
        balloon_decay: float = 50.0,
        n_runs: int = 20,
        max_epochs: int = 25,
        cross_fit: bool = True,
        smooth_degree: int | None = 3,
        seed: int = 0,
    ) -> None:
        self.axis = axis  # type: ignore[assignment]  # None (the first varying axis) as well as a name
        self.n_snakes, self.initial, self.features = n_snakes, initial, features
        self.n_nodes, self.n_iterations, self.snake_rate, self.width = n_nodes, n_iterations, snake_rate, width
        self.elasticity, self.rigidity, self.balloon, self.balloon_decay = elasticity, rigidity, balloon, balloon_decay
        self.n_runs, self.max_epochs, self.cross_fit = n_runs, max_epochs, cross_fit
        self.smooth_degree, self.seed = smooth_degree, seed

    # ------------------------------------------------------------------ checks and inputs
    def _check(self) -> None:
        check_positive_int("n_snakes", self.n_snakes)
        check_positive_int("n_nodes", self.n_nodes, 2)
        check_positive_int("n_iterations", self.n_iterations)
        check_positive_int("n_runs", self.n_runs, 2)
        for name in ("snake_rate", "width", "balloon_decay"):
            check_number(name, getattr(self, name), low=0, low_open=True)
        for name in ("elasticity", "rigidity"):
            check_number(name, getattr(self, name), low=0)
        check_number("balloon", self.balloon)
        check_seed("seed", self.seed)
        if self.initial is not None and len(self.initial) != self.n_snakes:
            raise ValueError(f"initial: give one polyline per snake ({self.n_snakes}), got {len(self.initial)}")
        if isinstance(self.features, bytes) or not len(self.features):
            raise ValueError(f"features: 'configuration' or observables, got {self.features!r}")

    def _grid(self, ds: xr.Dataset) -> ParameterGrid:
        coords = [str(c) for c in ds.coords if ds[c].dims == ("point",) and c != "point"]
        varying = [c for c in coords if np.unique(ds[c].values).size > 1]
        first = self.axis if self.axis is not None else (varying[0] if varying else None)
        axes = [first, *(c for c in varying if c != first)]
        if len(axes) != 2 or first not in coords:
            raise ValueError(f"axis: need a 2-D grid with {first!r} as one axis; the scan varies {varying}")
        grid = ParameterGrid.from_scan(ds, axes[0])
        if len(grid.axes) != 2 or grid.axes[1] != axes[1]:
            raise ValueError(f"axes: the scan is not a full grid over {axes}")
        return grid

    def _log_posterior(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        """``log p(point | x)`` of every sample, held out: ``(point, sample, point)``."""
        if self.features == "configuration":
            if "configuration" not in ds:
                raise ValueError("scan: features='configuration' needs configurations ('configuration')")
            return self._point_posterior(ds, grid)
        names = self.features.split("+") if isinstance(self.features, str) else list(self.features)
        missing = [f for f in names if f not in ds or ds[f].dims[:2] != ("point", "sample")]
        if missing:
            raise ValueError(f"features: {missing} are not per-sample variables of the scan (has {list(ds.data_vars)})")
        x = np.stack([np.asarray(ds[f].values, dtype=float) for f in names], axis=-1)
        P = x.shape[0]
        return self._held_out_log_proba(x, np.arange(P), np.arange(P), P)

    def _classifier(self, n_classes: int, fold: int, class_basis: np.ndarray | None = None) -> Any:
        """The learner of one fold: the network on configurations, or on observables a multinomial
        logistic regression on standardised quadratic features (scikit-learn)."""
        if self.features == "configuration":
            return super()._classifier(n_classes, fold, class_basis)
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        return make_pipeline(
            StandardScaler(), PolynomialFeatures(2), StandardScaler(), LogisticRegression(max_iter=500)
        )

    def _initial(self, low: np.ndarray, span: np.ndarray) -> list[np.ndarray]:
        """Starting polylines in unit coordinates."""
        if self.initial is None:
            return [
                np.column_stack([np.full(self.n_nodes, (k + 1) / (self.n_snakes + 1)), np.linspace(0, 1, self.n_nodes)])
                for k in range(self.n_snakes)
            ]
        out = []
        for k, line in enumerate(self.initial):
            nodes = np.asarray(line, dtype=float)
            if nodes.ndim != 2 or nodes.shape[1] != 2 or len(nodes) < 2:
                raise ValueError(f"initial[{k}]: need an (n >= 2, 2) polyline in axis units, got shape {nodes.shape}")
            out.append(_resample((nodes - low) / span, self.n_nodes))
        return out

    # ------------------------------------------------------------------ fit
    def fit(self, scans: Any) -> SnakeNet:
        """Fit on one scan over a full 2-D grid (the largest size if several are given)."""
        from ._scans import scans_by_size

        self._check()
        by_size = scans_by_size(scans)
        ds = by_size[max(by_size)]
        grid = self._grid(ds)
        low = np.array([v.min() for v in grid.values])
        span = np.array([v.max() - v.min() for v in grid.values])
        where = (grid.theta - low) / span
        start = self._initial(low, span)
        with self._fit_progress({0: ds}):
            posterior = np.exp(self._log_posterior(ds, grid))  # (point, sample, point)
            self._size_done()
        rng = np.random.default_rng(self.seed)
        n_points, n_samples = posterior.shape[:2]
        runs = []
        for r in range(self.n_runs):
            rows = (
                rng.integers(0, n_samples, size=(n_points, n_samples))
                if r
                else np.tile(np.arange(n_samples), (n_points, 1))
            )
            runs.append(self._run(posterior[np.arange(n_points)[:, None], rows], where, start))
        history = np.array(runs)  # (run, iteration, snake, node, 2) unit coordinates
        self.history_ = low + span * history
        final = history[:, -1]
        mean = final.mean(axis=0)
        self.boundaries_ = [low + span * m for m in mean]
        self.bands_ = [span * s for s in final.std(axis=0, ddof=1)]
        guesses = self._guesses(where, mean)  # (point, snake)
        proba = np.einsum("psj,jk->pk", posterior, guesses) / n_samples
        self.proba_ = xr.DataArray(
            grid.to_grid(proba),
            coords={**dict(zip(grid.axes, grid.values)), "snake": np.arange(self.n_snakes)},
            dims=(*grid.axes, "snake"),
            name="proba",
        )
        codes = np.array(["".join("1" if g > 0.5 else "0" for g in row) for row in guesses])
        self.labels_ = xr.DataArray(
            grid.to_grid(codes), coords=dict(zip(grid.axes, grid.values)), dims=grid.axes, name="label"
        )
        self.critical_points_ = self._crossings(grid, final, low, span)
        return self

    def _guesses(self, where: np.ndarray, snakes: Any) -> np.ndarray:
        import torch

        points = torch.as_tensor(where, dtype=torch.float64)
        return np.column_stack(
            [
                torch.sigmoid(signed_distance(points, torch.as_tensor(s, dtype=torch.float64)) / self.width).numpy()
                for s in snakes
            ]
        )

    def _run(self, posterior: np.ndarray, where: np.ndarray, start: list[np.ndarray]) -> np.ndarray:
        """Move the snakes on one (resampled) posterior; the node history ``(iteration, snake, node, 2)``."""
        import torch

        p = torch.as_tensor(posterior, dtype=torch.float64)
        points = torch.as_tensor(where, dtype=torch.float64)
        nodes = [torch.as_tensor(s, dtype=torch.float64) for s in start]
        pins = [_pins(s) for s in start]
        history = [np.array([n.numpy() for n in nodes])]
        for it in range(self.n_iterations):
            balloon = self.balloon * np.exp(-it / self.balloon_decay)
            nodes = [self._move(n, points, p, balloon, pins[k]) for k, n in enumerate(nodes)]
            history.append(np.array([n.numpy() for n in nodes]))
        return np.array(history)

    def _move(self, nodes: Any, points: Any, posterior: Any, balloon: float, pins: list[tuple[int, int, float]]) -> Any:
        """One step of a snake's nodes down the learner's balanced cross-entropy against the guess, the
        elasticity and the rigidity, plus the balloon; ends stay on their edges (``pins``)."""
        import torch

        free = nodes.clone().requires_grad_()
        guess = torch.sigmoid(signed_distance(points, free) / self.width)  # (point,)
        learner = (posterior @ guess).clamp(1e-9, 1 - 1e-9)  # (point, sample): P(left | x)
        left, right = guess.sum().clamp_min(1e-9), (1 - guess).sum().clamp_min(1e-9)
        loss = (
            -(
                (guess[:, None] * torch.log(learner)).mean(dim=1).sum() / left
                + ((1 - guess)[:, None] * torch.log(1 - learner)).mean(dim=1).sum() / right
            )
            / 2
        )
        stretch = (free[1:] - free[:-1]).pow(2).sum()
        bend = (free[2:] - 2 * free[1:-1] + free[:-2]).pow(2).sum() if len(free) > 2 else free.sum() * 0
        (loss + self.elasticity * stretch + self.rigidity * bend).backward()
        with torch.no_grad():
            step = -free.grad
            moved = nodes + self.snake_rate * step / step.norm(dim=1).max().clamp_min(1e-12)
            if balloon:
                tangent = torch.gradient(nodes, dim=0)[0]
                normal = torch.stack([-tangent[:, 1], tangent[:, 0]], dim=1)
                moved = moved + balloon * normal / normal.norm(dim=1, keepdim=True).clamp_min(1e-12)
            moved = moved.clamp(0.0, 1.0).numpy()
        for node, axis, value in pins:
            moved[node, axis] = value
        return torch.as_tensor(_resample(moved, len(nodes)), dtype=torch.float64)

    def _crossings(
        self, grid: ParameterGrid, final: np.ndarray, low: np.ndarray, span: np.ndarray
    ) -> list[CriticalPoint]:
        """Per snake and line of constant y: the x where each run's snake crosses it; mean and spread."""
        out: list[CriticalPoint] = []
        for k in range(final.shape[1]):
            for y in grid.values[1]:
                xs = np.array([_crossing(run[k], (y - low[1]) / span[1]) for run in final])
                xs = low[0] + span[0] * xs[np.isfinite(xs)]
                if xs.size >= 2:
                    at = {grid.axes[1]: float(y)}
                    out.append(
                        CriticalPoint(grid.axes[0], float(xs.mean()), float(xs.std(ddof=1)), f"snake {k}", at=at)
                    )
        return out


def _pins(nodes: np.ndarray, tolerance: float = 0.02) -> list[tuple[int, int, float]]:
    """The end nodes that sit on an edge of the unit square: ``(node, coordinate, edge value)``."""
    out = []
    for node in (0, len(nodes) - 1):
        gaps = np.abs(np.stack([nodes[node], 1.0 - nodes[node]]))  # (edge 0 or 1, coordinate)
        edge, axis = np.unravel_index(np.argmin(gaps), gaps.shape)
        if gaps[edge, axis] <= tolerance:
            out.append((node, int(axis), float(edge)))
    return out


def _crossing(nodes: np.ndarray, y: float) -> float:
    """The x where a polyline first crosses the horizontal line ``y`` (NaN if it does not)."""
    for (x0, y0), (x1, y1) in zip(nodes[:-1], nodes[1:]):
        if (y0 - y) * (y1 - y) <= 0 and y0 != y1:
            return float(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    return float("nan")
