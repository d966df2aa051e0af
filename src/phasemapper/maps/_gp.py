"""A Gaussian-process phase map: Dirichlet-based GP classification (Milios et al. 2018)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_positive_int, check_positive_number
from .._space import Space
from ._base import PhaseMap, entropy

__all__ = ["GPClassifierMap"]

#: prior sd of the weight the data give a stated prior (mean 1: the prior as stated; broad, so data decide)
PRIOR_WEIGHT_SD = 2.0


class GPClassifierMap(PhaseMap):
    """Multi-class GP classifier over the space, with priors and calibrated uncertainty.

    Dirichlet-based GP classification (D. Milios, R. Camoriano, P. Michiardi,
    L. Rosasco, M. Filippone, "Dirichlet-based Gaussian Processes for
    Large-scale Calibrated Classification", NeurIPS 2018): each observation's
    phase probabilities ``p`` become Dirichlet concentrations
    ``a = alpha_epsilon + strength * p``, approximated per phase by a
    log-normal, i.e. a GP regression target ``log a - s2 / 2`` with its own
    noise ``s2 = log(1 / a + 1)``. So one exact, heteroscedastic GP regression
    per phase (scikit-learn's ``GaussianProcessRegressor``) replaces a
    non-conjugate classifier: a refit on 2,000 points is a Cholesky per phase.
    Label noise is absorbed by the large noise of the "absent" targets and by
    ``alpha_epsilon``; probabilities are the Monte-Carlo mean of a softmax over
    the latent GPs, so uncertainty far from data is real.

    Kernel hyperparameters (amplitude, one length scale per axis in unit-cube
    coordinates) are fitted by marginal likelihood on at most
    ``max_hyper_points`` points (a deterministic subsample), then the final GP
    uses all points with those hyperparameters.

    Priors (:meth:`add_prior`) enter as the GP's mean: the latent mean is the
    log of the prior probabilities, scaled by the certainty — far from data the
    map shows the prior, near data the data win, and a prior held with low
    certainty leaves the map uncertain enough for a planner to check it.
    The prior mean is scaled by a weight ``prior_weight_`` in [0, 1] that the
    data set (empirical Bayes: the posterior mean of the weight under the
    data-only GPs, from a broad N(1, 2^2) prior), so a prior the data contradict
    is switched off instead of being learned away point by point.

    Parameters
    ----------
    space : Space
    phases : sequence of str
    alpha_epsilon : float
        Dirichlet concentration of phases not observed at a point (Milios et al. use 0.01-0.1).
    strength : float
        Concentration per unit probability of an observation.
    max_hyper_points : int
        Points used for the hyperparameter fit.
    n_draws : int
        Monte-Carlo draws for the softmax mean (fixed seed: predictions are deterministic).

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Axis, Space
    >>> from phasemapper.maps import GPClassifierMap
    >>> space = Space([Axis("x", 0, 1), Axis("y", 0, 1)])
    >>> pts = space.sobol(64, seed=0)
    >>> labels = (pts[:, 0] > 0.5).astype(int)
    >>> m = GPClassifierMap(space, ["left", "right"]).fit(pts, labels)
    >>> m.predict([[0.2, 0.5], [0.8, 0.5]]).tolist()
    ['left', 'right']
    """

    def __init__(
        self,
        space: Space,
        phases: Sequence[str],
        *,
        alpha_epsilon: float = 0.05,
        strength: float = 1.0,
        max_hyper_points: int = 400,
        n_draws: int = 256,
    ) -> None:
        super().__init__(space, phases)
        self.alpha_epsilon = alpha_epsilon
        self.strength = strength
        self.max_hyper_points = max_hyper_points
        self.n_draws = n_draws

    def _check_params(self) -> None:
        for name in ("alpha_epsilon", "strength"):
            check_positive_number(name, getattr(self, name))
        for name in ("max_hyper_points", "n_draws"):  # both set the size of arrays and of a Cholesky factor
            check_positive_int(name, getattr(self, name), minimum=8, maximum=100_000)

    # ---------------------------------------------------------------- model
    def _targets(self, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = self.alpha_epsilon + self.strength * proba
        s2 = np.log(1.0 / a + 1.0)
        return np.log(a) - 0.5 * s2, s2

    def _prior_mean(self, points: np.ndarray) -> np.ndarray:
        """Latent prior mean per phase: centred log prior probabilities (0 where nothing is stated)."""
        q = self.priors.proba(points)
        logq = np.log(q)
        return logq - logq.mean(axis=1, keepdims=True)

    def _fit_gps(self, u: np.ndarray, resid: np.ndarray, s2: np.ndarray, kernels: list[Any] | None = None) -> list[Any]:
        """One GP regression per phase on ``resid``; hyperparameters by marginal likelihood on a subsample,
        or the given fitted ``kernels`` (one per phase) kept fixed."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel

        n = len(u)
        hyper = np.arange(n)
        if n > self.max_hyper_points:
            hyper = np.sort(np.random.default_rng(0).choice(n, self.max_hyper_points, replace=False))
        kernel = ConstantKernel(2.0, (0.05, 50.0)) * RBF(np.full(self.space.unit_ndim, 0.2), (0.01, 3.0))
        gps = []
        for c in range(resid.shape[1]):
            if kernels is not None:
                gps.append(
                    GaussianProcessRegressor(kernels[c], alpha=s2[:, c], optimizer=None, normalize_y=False).fit(
                        u, resid[:, c]
                    )
                )
                continue
            gp = GaussianProcessRegressor(kernel, alpha=s2[hyper, c], normalize_y=False)
            with warnings.catch_warnings():  # a length scale at its bound (a flat phase) is a valid answer
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(u[hyper], resid[hyper, c])
            if len(hyper) < n:
                gp = GaussianProcessRegressor(gp.kernel_, alpha=s2[:, c], optimizer=None, normalize_y=False)
                gp.fit(u, resid[:, c])
            gps.append(gp)
        return gps

    def _fit(self, u: np.ndarray, proba: np.ndarray) -> None:
        from scipy.linalg import cho_solve

        y, s2 = self._targets(proba)
        self.offset_ = float(y.mean())
        resid = y - self.offset_
        prior = self._prior_mean(self.points_)
        self.prior_weight_ = 1.0
        if not len(self.priors) or not np.any(prior):
            self.gps_ = self._fit_gps(u, resid, s2)
            return
        # Empirical-Bayes weight of the prior mean: with the data-only GPs, the posterior mean of w in
        # mean = w * prior under w ~ N(1, PRIOR_WEIGHT_SD^2), clipped to [0, 1]. Data that contradict the
        # prior drive w to 0 (the map becomes the data-only map); data that agree keep it near 1.
        data_only = self._fit_gps(u, resid, s2)
        a = b = 1.0 / PRIOR_WEIGHT_SD**2
        for c, gp in enumerate(data_only):
            kinv_m = cho_solve((gp.L_, True), prior[:, c])
            a += float(prior[:, c] @ kinv_m)
            b += float(resid[:, c] @ kinv_m)
        self.prior_weight_ = float(np.clip(b / a, 0.0, 1.0))
        if self.prior_weight_ == 0.0:
            self.gps_ = data_only
        else:  # one model: mean w * prior, the kernels the weight was judged with (no second optimisation)
            self.gps_ = self._fit_gps(u, resid - self.prior_weight_ * prior, s2, [gp.kernel_ for gp in data_only])

    def latent(self, points: Any) -> tuple[np.ndarray, np.ndarray]:
        """Latent mean and standard deviation ``(n, n_phases)`` at ``points`` (user units)."""
        pts = self.space.validate(points)
        u = self.space.to_unit(pts)
        mean = self.prior_weight_ * self._prior_mean(pts) + self.offset_
        mu, sd = np.empty_like(mean), np.empty_like(mean)
        for c, gp in enumerate(self.gps_):
            m, s = gp.predict(u, return_std=True)
            mu[:, c], sd[:, c] = mean[:, c] + m, s
        return mu, sd

    def _draws(self, points: np.ndarray) -> np.ndarray:
        """Softmax of ``n_draws`` latent draws, ``(n_draws, n, n_phases)`` (fixed seed)."""
        mu, sd = self.latent(points)
        z = np.random.default_rng(0).standard_normal((self.n_draws, 1, mu.shape[1]))
        f = mu[None] + sd[None] * z
        f -= f.max(axis=2, keepdims=True)
        e = np.exp(f)
        return e / e.sum(axis=2, keepdims=True)

    def _predict_proba(self, u: np.ndarray, points: np.ndarray) -> np.ndarray:
        return self._draws(points).mean(axis=0)

    def _uncertainty(self, points: np.ndarray) -> np.ndarray:
        """Posterior probability that the map's phase at a point is wrong, plus a BALD tie-break.

        With latent draws ``f``, the share of draws won by each phase is the
        posterior probability of that phase being the point's phase; one minus
        the largest share is the chance that the map's answer is wrong there,
        i.e. the point's expected contribution to the misclassified area. It is
        zero where the data settle the phase (however noisy the labels) and
        near ``1 - 1/K`` where nothing is known. Among points it scores equal
        (e.g. all zero) the epistemic information (BALD, Houlsby et al. 2011)
        decides: it is scaled below half a draw's share, ``1 / n_draws``, so it
        never outweighs one draw.
        """
        if self.n_points == 0:
            return self.entropy(points)
        draws = self._draws(points)
        winners = draws.argmax(axis=2)
        share = np.stack([(winners == c).mean(axis=0) for c in range(draws.shape[2])], axis=1)
        bald = entropy(draws.mean(axis=0)) - entropy(draws).mean(axis=0)
        return 1.0 - share.max(axis=1) + bald * 0.5 / (self.n_draws * np.log(draws.shape[2]))
