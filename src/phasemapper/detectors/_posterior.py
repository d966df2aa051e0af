"""Detectors built on a posterior over the scan's points: Confusion, PredictionDivergence, FisherMetric,
their Bayes-optimal references (OptimalIndicators), and SupervisedExtremes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from .._checks import check_choice, check_positive_int
from ._base import Analysis, LineDetector
from ._grid import ParameterGrid, network_inputs
from ._indicators import (
    confusion_accuracy,
    energy_log_posterior,
    extremes_count,
    extremes_proba,
    fisher_metric_fit,
    interior_peak,
    kl_matrix,
    mean_prediction,
    step_edge,
)
from ._networks import ConfigurationClassifier, sample_folds, smooth_class_basis
from ._scans import first_root, is_temperature_axis, scan_sites

__all__ = ["Confusion", "PredictionDivergence", "FisherMetric", "OptimalIndicators", "SupervisedExtremes"]


def _restrict(log_p: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The posterior of a line's samples over that line's points (Bayes conditioning on the line)."""
    sub = log_p[points][:, :, points]
    return sub - logsumexp(sub, axis=-1, keepdims=True)


def _confusion(x: np.ndarray) -> Analysis:
    splits = 0.5 * (x[1:] + x[:-1])
    return Analysis("confusion", lambda lp: (splits, confusion_accuracy(lp)), interior_peak)


def _divergence(x: np.ndarray) -> Analysis:
    def curve(lp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x, np.gradient(mean_prediction(lp, x[:, None])[:, 0], x)

    return Analysis("prediction_divergence", curve, interior_peak)


def _supervised(x: np.ndarray, p_high: Callable[[Any], np.ndarray]) -> list[Analysis]:
    """The mean output of a supervised-at-extremes classifier (``p_high(data)``: ``(point, sample)``):
    its derivative (the indicator) and its crossing of 1/2 (the estimate)."""
    return [
        Analysis("supervised_extremes", lambda d: (x, np.gradient(p_high(d).mean(axis=1), x)), None),
        Analysis("output_crossing", lambda d: (x, p_high(d).mean(axis=1)), lambda cx, m: first_root(cx, 0.5 - m)),
    ]


def _fisher(x: np.ndarray, window: int) -> Analysis:
    return Analysis("fisher_metric", lambda lp: (x, fisher_metric_fit(kl_matrix(lp), x, window)[2]), interior_peak)


class _NetworkParams:
    """Constructor parameters shared by the detectors that train :class:`ConfigurationClassifier`."""

    requires: tuple[str, ...] = ("torch", "skorch")

    def __init__(
        self,
        axis: str = "T",
        *,
        max_epochs: int = 25,
        cross_fit: bool = True,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
        smooth_degree: int | None = 2,
    ) -> None:
        self.axis, self.max_epochs, self.cross_fit = axis, max_epochs, cross_fit
        self.n_bootstrap, self.nu, self.seed, self.smooth_degree = n_bootstrap, nu, seed, smooth_degree

    def _classifier(self, n_classes: int, fold: int, class_basis: np.ndarray | None = None) -> ConfigurationClassifier:
        return ConfigurationClassifier(
            n_classes,
            max_epochs=check_positive_int("max_epochs", self.max_epochs),
            seed=self.seed + fold,
            class_basis=class_basis,
        )

    def _held_out_log_proba(
        self,
        x: np.ndarray,
        labels: np.ndarray,
        train_points: np.ndarray,
        n_classes: int,
        class_basis: np.ndarray | None = None,
    ) -> np.ndarray:
        """``log p(class | x)`` for every sample from a network not trained on it.

        ``x`` is ``(point, sample, ...)``, ``labels`` the class of each point; only
        ``train_points`` train. Two folds over samples (cross-fitting) or one.
        ``class_basis``: see :class:`ConfigurationClassifier`.
        """
        P, S = x.shape[:2]
        folds, judged = sample_folds(P, S, self.seed, self.cross_fit)
        out = np.empty((P, S, n_classes))
        for k, (train, test) in enumerate(folds):
            tr = train[train_points]
            xtr = x[train_points[:, None], tr].reshape(-1, *x.shape[2:])
            ytr = np.repeat(labels[train_points], tr.shape[1])
            clf = self._classifier(n_classes, k, class_basis).fit(xtr, ytr)
            xte = x[np.arange(P)[:, None], test].reshape(-1, *x.shape[2:])
            out[np.arange(P)[:, None], test] = clf.predict_log_proba(xte).reshape(P, test.shape[1], n_classes)
        return out[np.arange(P)[:, None], judged]

    def _basis_coordinates(self, grid: ParameterGrid) -> np.ndarray:
        """The coordinates the smooth class basis is a polynomial of (the points' own here)."""
        return grid.theta

    def _point_posterior(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        """``log p(point | x)`` held out; the class weights smooth in the coordinates if ``smooth_degree`` is set."""
        degree = self.smooth_degree
        if degree is not None:
            degree = check_positive_int("smooth_degree", degree)
        basis = None if degree is None else smooth_class_basis(self._basis_coordinates(grid), degree)
        x = network_inputs(ds)
        P = x.shape[0]
        return self._held_out_log_proba(x, np.arange(P), np.arange(P), P, basis)


class Confusion(_NetworkParams, LineDetector):
    """Learning by confusion (van Nieuwenburg, Liu & Huber, Nat. Phys. 13, 435 (2017)), multi-task.

    Instead of one network per proposed split, one network learns which point a
    configuration came from, ``p(j | x)``; the classifier of the split at ``c``
    is then ``sum_{j<c} p(j|x) > 1/2`` for every ``c`` at once (Arnold et al.,
    "Fast detection of phase transitions with multi-task learning-by-confusion",
    2023). Accuracy vs split is the W-shape; the transition is its middle peak.
    Samples are split in halves; each half is classified by the network trained
    on the other (cross-fitting). On a 2-D grid the posterior is conditioned on
    each line along ``axis`` and the method runs line by line.

    Parameters
    ----------
    axis : str
        The axis along which splits are proposed.
    max_epochs : int
        Training passes of the network.
    cross_fit : bool
        Two networks so that every sample gets an out-of-sample posterior (else one, and half the samples).
    n_bootstrap : int
        Resamples of the held-out samples for the uncertainty (combined with one grid spacing / sqrt 12).
    nu : float
        Exponent of the finite-size extrapolation ``Tc(L) = Tc + a L^(-1/nu)``.
    seed : int
    smooth_degree : int or None
        An integer (default 2): the network's output weights are Legendre polynomials
        of this total degree in the points' coordinates, an exponential family with
        smooth natural parameters (see :class:`FisherMetric`). ``None``: one free
        output weight vector per point.

    Attributes
    ----------
    indicator_ : xarray.DataArray
        Accuracy vs split, dims ``(L, [other axis], axis)``.
    critical_points_ : list of CriticalPoint
        Finite-size extrapolation (two or more sizes) first, then one per size.
    proba_ : xarray.DataArray
        Mean posterior of the two phases per point at the largest size, split at the estimate.
    labels_ : xarray.DataArray
        The more probable phase per point.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import Confusion
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> Confusion(max_epochs=2, n_bootstrap=5).fit(ds).indicator_.dims
    ('L', 'T')
    """

    method = "confusion"

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        return self._point_posterior(ds, grid)

    def _line(self, data: np.ndarray, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return _restrict(data, points)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        return [_confusion(x)]

    def _finish(self, fitted: dict[int, tuple[ParameterGrid, xr.Dataset, Any]]) -> None:
        """Phase probabilities of the largest size: each sample's posterior mass below its line's estimate."""
        L = max(fitted)
        grid, _, log_p = fitted[L]
        below = np.zeros(log_p.shape[:2])
        for (_, value, _, _), (_, points) in zip(self.estimates_["confusion"][L], grid.rows()):
            mask = grid.values[0] < value
            below[points] = np.exp(logsumexp(_restrict(log_p, points)[..., mask], axis=-1))
        p_below = below.mean(axis=1)
        self._set_phase_proba(grid, np.stack([p_below, 1 - p_below], axis=-1), ["below", "above"])


#: how PredictionDivergence reads a transition off its divergence curve
_LOCATORS = {"peak": interior_peak, "drop": step_edge}


class PredictionDivergence(_NetworkParams, LineDetector):
    """Prediction-based detection (Schaefer & Loerch, Phys. Rev. E 99, 062107 (2019)).

    A network predicts the parameters from a configuration, as the posterior mean
    ``theta_hat(x) = sum_j p(j|x) theta_j`` of a classifier over the scan's points
    (so one model serves 1-D and 2-D spaces); where the distribution of
    configurations changes fast, the mean prediction stretches and its
    divergence ``sum_a d<theta_hat_a>/d theta_a`` peaks.

    On a 2-D grid one network learns the posterior over every point, and each
    line along ``axis`` is read in one of two ways (``read``):

    - ``"field"`` (default; the method's 2-D form): the full divergence of the
      unconditioned posterior mean, with its peak along ``axis`` on each line.
      It marks where samples change in any direction, so it finds lines in the
      plane: on TASEP the coexistence line alpha = beta < 1/2 is a peak on a
      plateau (the high-density side depends on beta), within 0.013 of the
      exact line on the benchmark's grid;
    - ``"line"``: the posterior conditioned on each line (Bayes conditioning,
      as :class:`Confusion` does), whose mean prediction of ``axis`` gives the
      line's own 1-D divergence: the transition along ``axis`` at fixed other
      parameter. Where the other component keeps changing past the transition
      (Blume-Capel at D = 1.5, where the vacancy density still moves with T) the
      field's peak leaves the line and this reading stays on it. On TASEP's
      coexistence line near the corner it is the weaker reading: there the
      line's divergence is a step with a small peak.

    Where a phase's samples stop depending on the parameter (TASEP's
    maximal-current phase), its mean prediction is flat and the divergence is a
    step from about 1 to about 0 instead of a peak: ``locate="drop"`` puts the
    transition at the step's edge, where the divergence falls through half its
    drop (:func:`step_edge`).

    Parameters
    ----------
    locate : {"peak", "drop"}
        Read the transition at the divergence's most prominent interior peak, or
        at the edge of its downward step along ``axis``.
    read : {"field", "line"}
        On a 2-D grid: read the full divergence field (default), or each line
        from the posterior conditioned on it (above). The same in 1-D.
    smooth_degree : int or None
        As in :class:`Confusion`; here 3 by default, which follows the mean
        prediction's bend at the transition.
    max_epochs, cross_fit, n_bootstrap, nu, seed
        As in :class:`Confusion`.

    Attributes
    ----------
    indicator_ : xarray.DataArray
        The divergence, dims ``(L, [other axis], axis)``: each line's, or the field (``read``).
    mean_prediction_ : xarray.DataArray
        ``<theta_hat>`` of the unconditioned posterior per point and axis at the largest size.
    critical_points_ : list of CriticalPoint

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import PredictionDivergence
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> PredictionDivergence(max_epochs=2, n_bootstrap=5).fit(ds).indicator_.sizes["T"]
    5
    """

    method = "prediction_divergence"

    def __init__(
        self,
        axis: str = "T",
        *,
        locate: str = "peak",
        max_epochs: int = 25,
        cross_fit: bool = True,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
        smooth_degree: int | None = 3,
        read: str = "field",
    ) -> None:
        super().__init__(
            axis,
            max_epochs=max_epochs,
            cross_fit=cross_fit,
            n_bootstrap=n_bootstrap,
            nu=nu,
            seed=seed,
            smooth_degree=smooth_degree,
        )
        self.locate, self.read = locate, read

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        check_choice("locate", self.locate, sorted(_LOCATORS))
        check_choice("read", self.read, ("line", "field"))
        log_p = self._point_posterior(ds, grid)
        theta = grid.theta
        prediction = np.einsum("psj,ja->psa", np.exp(log_p), theta)  # (point, sample, axis)
        mean = grid.to_grid(prediction.mean(axis=1))
        self.mean_prediction_ = xr.DataArray(
            mean,
            coords={**dict(zip(grid.axes, grid.values)), "component": list(grid.axes)},
            dims=(*grid.axes, "component"),
            name="mean_prediction",
        )
        if self.read == "line":  # each sample's prediction of `axis` given the line it came from
            along = np.empty(prediction.shape[:2])
            for _, points in grid.rows():
                along[points] = np.exp(_restrict(log_p, points)) @ theta[points, 0]
            return np.stack([along, np.zeros_like(along)], axis=-1)
        # the other axes' terms of the divergence, from the full grid (held fixed under the line bootstrap)
        cross = sum(np.gradient(mean[..., a], grid.values[a], axis=a) for a in range(1, len(grid.axes)))
        cross_per_point = np.zeros(len(theta)) if np.isscalar(cross) else cross.reshape(-1)[grid.index]
        cross_b = np.broadcast_to(np.asarray(cross_per_point)[:, None], prediction.shape[:2])
        return np.stack([prediction[..., 0], cross_b], axis=-1)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        def curve(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return x, np.gradient(line[..., 0].mean(axis=1), x) + line[:, 0, 1]

        return [Analysis("prediction_divergence", curve, _LOCATORS[self.locate])]


class FisherMetric(_NetworkParams, LineDetector):
    """The Fisher information metric along ``axis``, reconstructed from a learned posterior.

    After Lobashev, Guskov, Larchenko & Tamm, "Hessian geometry of latent space
    in generative models" (ICML 2025): a network learns the posterior of the
    point given a sample; for a uniform prior ``E_i[log p(i|x) - log p(j|x)]``
    is ``KL(p_i || p_j)``, which for an exponential family is the Bregman
    divergence of its log-partition function ``psi``. A convex ``psi`` (a
    non-negative sum of convex functions with Gaussian-bump second derivatives)
    is fitted to the divergences of points up to ``window`` apart; the metric is
    its Hessian ``g = psi''``. For the Ising model in ``T`` this is
    ``Var(E_total) / T^4``. Peaks of ``g`` mark transitions;
    :meth:`geodesic_distance` integrates ``sqrt(g)``.

    Parameters
    ----------
    window : int
        Farthest pair of points (in grid steps) whose divergence enters the fit.
    smooth_degree : int or None
        The posterior network's class weights are Legendre polynomials of this total
        degree in the points' coordinates (an exponential family whose natural
        parameters are smooth in the parameters; see :mod:`._networks`), so that
        neighbouring points are told apart by the statistics they differ in rather
        than by noise. ``None``: one free weight vector per point.
    temperature : bool, optional
        Whether ``axis`` is a temperature (default: ``axis == "T"``). Then the basis is
        a polynomial in ``beta = 1 / T`` instead of ``T``: a Gibbs family's natural
        parameters are ``-beta`` times the couplings, so the family is represented
        exactly at every degree.
    max_epochs, cross_fit, n_bootstrap, nu, seed
        As in :class:`Confusion`.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import FisherMetric
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> bool((FisherMetric(max_epochs=2, n_bootstrap=5).fit(ds).indicator_ >= 0).all())
    True
    """

    method = "fisher_metric"

    def __init__(
        self,
        axis: str = "T",
        *,
        window: int = 5,
        smooth_degree: int | None = 3,
        max_epochs: int = 25,
        cross_fit: bool = True,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
        temperature: bool | None = None,
    ) -> None:
        super().__init__(
            axis,
            max_epochs=max_epochs,
            cross_fit=cross_fit,
            n_bootstrap=n_bootstrap,
            nu=nu,
            seed=seed,
            smooth_degree=smooth_degree,
        )
        self.window, self.temperature = window, temperature

    def _basis_coordinates(self, grid: ParameterGrid) -> np.ndarray:
        """The points' coordinates, with ``axis`` as ``beta = 1 / T`` when it is a temperature."""
        if not is_temperature_axis(self.axis, self.temperature):
            return grid.theta
        column = grid.axes.index(self.axis)
        if np.any(grid.theta[:, column] <= 0):
            raise ValueError(
                f"temperature axis {self.axis!r} must be > 0 for a basis in 1/T; pass temperature=False to use T itself"
            )
        coordinates = grid.theta.copy()
        coordinates[:, column] = 1.0 / coordinates[:, column]
        return coordinates

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        check_positive_int("window", self.window)
        return self._point_posterior(ds, grid)

    def _line(self, data: np.ndarray, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return _restrict(data, points)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        return [_fisher(x, int(self.window))]

    def geodesic_distance(
        self, a: float, b: float, size: int | None = None, at: dict[str, float] | None = None
    ) -> float:
        """Length ``int_a^b sqrt(g) d(axis)`` along the axis (trapezoid on the grid; largest size by default)."""
        g = self.indicator_.sel(L=size if size is not None else int(self.indicator_.L.max()))
        if at:
            g = g.sel(at)
        x = g[self.axis].values
        lo, hi = sorted((float(a), float(b)))
        if lo < x[0] or hi > x[-1]:
            raise ValueError(f"geodesic endpoints must lie in [{x[0]}, {x[-1]}], got {a}, {b}")
        fine = np.linspace(lo, hi, 512)
        return float(np.trapezoid(np.sqrt(np.interp(fine, x, g.values)), fine))


class OptimalIndicators(LineDetector):
    """The Bayes-optimal indicators of confusion, supervised learning at the extremes, prediction
    divergence and the Fisher metric.

    After Arnold, Schaefer, Loerch et al. ("Replacing neural networks by optimal
    analytical predictors for the detection of phase transitions", PRX 12,
    031044 (2022)): with a sufficient statistic known — the energy for a
    temperature axis — the posterior ``p(T_j | x) = p(T_j | E)`` follows from the
    energy histograms (multistate reweighting, :func:`energy_log_posterior`),
    and the indicators computed from it are the best any model can do on
    these samples. No training: the reference the learned detectors are measured
    against.

    The supervised one is the Bayes classifier of :class:`SupervisedExtremes`'
    task (the lowest and highest ``fraction`` of the points against each other,
    :func:`extremes_proba`). Where no training sample lies, between the two ends,
    a learned classifier's output is set by its inductive bias; this one's by the
    Boltzmann likelihood ratio, which for two temperatures is linear in E. Its
    crossing of 1/2 therefore tends, as L grows, to where the energy per site
    equals the mean of ``u(beta)`` between the two inner training temperatures
    (the slope of ``beta f`` between them), not to Tc: the method's own limit.

    Parameters
    ----------
    axis : str
        A temperature axis (the Boltzmann family ``exp(-E/T)``).
    fraction : float
        Share of the points at each end for the supervised indicator, as in
        :class:`SupervisedExtremes`.
    window, n_bootstrap, nu, seed : as in :class:`FisherMetric`.

    Attributes
    ----------
    curves_ : dict of xarray.DataArray
        ``confusion``, ``prediction_divergence``, ``fisher_metric``,
        ``supervised_extremes`` (derivative of the mean output) and
        ``output_crossing`` (the mean output).
    indicator_ : xarray.DataArray
        The optimal confusion accuracy.
    critical_points_ : list of CriticalPoint
        For confusion, divergence, Fisher metric and the output crossing.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import OptimalIndicators
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> sorted(OptimalIndicators(n_bootstrap=5).fit(ds).curves_)
    ['confusion', 'fisher_metric', 'output_crossing', 'prediction_divergence', 'supervised_extremes']
    """

    method = "optimal"

    def __init__(
        self,
        axis: str = "T",
        *,
        fraction: float = 0.2,
        window: int = 5,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.axis, self.fraction, self.window = axis, fraction, window
        self.n_bootstrap, self.nu, self.seed = n_bootstrap, nu, seed

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        if "energy" not in ds:
            raise ValueError("OptimalIndicators needs the scan's 'energy' variable (per site)")
        if np.any(grid.values[0] <= 0):
            raise ValueError(f"axis {self.axis!r} must be a temperature (> 0) for the Boltzmann posterior")
        extremes_count(2, self.fraction)  # check it before the reweighting
        return np.asarray(ds["energy"].values, dtype=float) * scan_sites(ds)

    def _line(self, data: np.ndarray, points: np.ndarray, x: np.ndarray) -> np.ndarray:
        return energy_log_posterior(data[points], x)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        n_end = extremes_count(x.size, self.fraction)
        return [
            _confusion(x),
            _divergence(x),
            _fisher(x, int(self.window)),
            *_supervised(x, lambda log_p: extremes_proba(log_p, n_end)),
        ]


class SupervisedExtremes(_NetworkParams, LineDetector):
    """Supervised learning at the ends of the range (Carrasquilla & Melko, Nat. Phys. 13, 431 (2017)).

    A network is trained to tell samples from the lowest ``fraction`` of the
    axis from those of the highest ``fraction`` (labels need only these two
    well-known regimes), then classifies every point; the transition is where
    the mean output crosses 1/2, and the indicator is the derivative of the
    mean output. Each point is classified with held-out samples.

    Parameters
    ----------
    fraction : float
        Share of the points at each end used for training (0 < fraction < 0.5).
    max_epochs, cross_fit, n_bootstrap, nu, seed
        As in :class:`Confusion`.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import SupervisedExtremes
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> SupervisedExtremes(max_epochs=2, n_bootstrap=5).fit(ds).proba_.sizes["phase"]
    2
    """

    method = "supervised_extremes"

    def __init__(
        self,
        axis: str = "T",
        *,
        fraction: float = 0.2,
        max_epochs: int = 25,
        cross_fit: bool = True,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.axis, self.fraction, self.max_epochs, self.cross_fit = axis, fraction, max_epochs, cross_fit
        self.n_bootstrap, self.nu, self.seed = n_bootstrap, nu, seed

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        extremes_count(2, self.fraction)  # check it before any work
        x = network_inputs(ds)
        out = np.empty(x.shape[:2])
        for _, points in grid.rows():
            n_end = extremes_count(len(points), self.fraction)
            labels = np.full(x.shape[0], -1)
            labels[points[:n_end]], labels[points[-n_end:]] = 0, 1
            train = np.r_[0:n_end, len(points) - n_end : len(points)]  # positions within the line
            log_p = self._held_out_log_proba(x[points], labels[points], train, 2)
            out[points] = np.exp(log_p[..., 1])
        return out

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        return _supervised(x, lambda p: p)

    def _finish(self, fitted: dict[int, tuple[ParameterGrid, xr.Dataset, Any]]) -> None:
        """Phase probabilities of the largest size: the mean held-out probability of the high end."""
        grid, _, p_high = fitted[max(fitted)]
        p = p_high.mean(axis=1)
        self._set_phase_proba(grid, np.stack([1 - p, p], axis=-1), ["low", "high"])
