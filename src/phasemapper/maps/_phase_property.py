"""A joint model of phase regions and a property that is smooth inside each region and jumps across them."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import check_bool, check_number, check_positive_int, check_seed
from .._extras import require
from .._space import Space

__all__ = ["PhaseProperty"]

#: the phase map's default parameters here: a GP map that trusts region labels (the patterns' clustering
#: is not a noisy label per point), so a far region's level does not widen the property's interval inside
#: a settled region (held-out coverage of the 95% interval: tests/test_phase_property.py)
SHARP_MAP: dict[str, dict[str, Any]] = {"gp": {"alpha_epsilon": 0.01}}


class PhaseProperty(BaseEstimator):
    """Phase regions and a property over a space, learned together (after SAGE, Kusne, McDannald & DeCost).

    The property inside region ``c`` is ``m_c + f_c(x)``: a constant level per region and a
    Gaussian process, the ``f_c`` coregionalised (intrinsic coregionalisation: covariance
    ``k(x, x') B[c, c']`` with an RBF kernel ``k`` and a learned region covariance ``B`` of rank
    ``rank`` plus a diagonal), so regions share their smoothness while their levels and shapes may
    differ: the property is smooth inside a region and may jump across a boundary. Hyperparameters
    (levels, length scales, ``B``, noise) are fitted by GPyTorch (exact marginal likelihood, Adam);
    the posterior is then exact.

    The regions are shared between the two data streams. They start from the phase probabilities
    of the patterns (``proba``, e.g. a :class:`~phasemapper.labelers.SpectraLabeler`'s
    ``proba_``); each of ``em_steps`` rounds weighs them by how well each region's property model
    predicts the sample's measured value left out (leave-one-out, exact), refits the phase map to
    these responsibilities and the property model to the resulting regions. The posterior of the
    phase map is :meth:`predict_proba`; the property's :meth:`predict` mixes the regions' predictions
    by it, so its error bar grows where the region is uncertain. The predictive distribution is a
    mixture: :meth:`predict_interval` gives its central intervals (these are the calibrated error
    bars); the standard deviation :meth:`predict` returns is the mixture's, and mean +- 2 std
    over-covers where another region with a distant level keeps a few percent.

    Parameters
    ----------
    space : Space
    phases : sequence of str
        Region names.
    model : str
        The phase map (``"gp"`` or ``"knn"``, :func:`~phasemapper.maps.make_map`).
    map_params : dict, optional
        Its parameters (default for ``"gp"``: ``alpha_epsilon=0.01``).
    regions : bool
        ``False``: one GP over the whole space that ignores the regions (the baseline).
    em_steps : int
        Rounds in which the property re-weighs the regions (0: the patterns alone set them).
    training_iter : int
        Adam steps of the first hyperparameter fit (each later round starts from the previous
        round's hyperparameters and takes a third of them).
    learning_rate : float
    rank : int
        Rank of the region covariance ``B`` beyond its diagonal.
    seed : int

    Attributes
    ----------
    phase_map_ : PhaseMap
        Fitted to the responsibilities.
    responsibilities_ : ndarray (n, n_phases)
        Each training sample's region probabilities after the property's evidence.
    levels_, lengthscale_, region_covariance_, noise_ : fitted hyperparameters (property units).
    fit_seconds_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper import Simplex
    >>> from phasemapper.maps import PhaseProperty
    >>> space = Simplex(["Fe", "Ga", "Pd"])
    >>> x = space.sobol(64, seed=0)
    >>> region = (x[:, 0] > 0.5).astype(int)
    >>> y = np.where(region == 1, 5.0 + x[:, 1], 1.0 - x[:, 2])
    >>> model = PhaseProperty(space, ["low", "high"], training_iter=60).fit(x, region, y)
    >>> mean, std = model.predict([[0.8, 0.1, 0.1], [0.2, 0.4, 0.4]])
    >>> bool(np.all(abs(mean - [5.1, 0.6]) < 3 * std))  # the truths, within the error bars
    True
    """

    def __init__(
        self,
        space: Space,
        phases: Sequence[str],
        *,
        model: str = "gp",
        map_params: dict[str, Any] | None = None,
        regions: bool = True,
        em_steps: int = 2,
        training_iter: int = 150,
        learning_rate: float = 0.1,
        rank: int = 1,
        seed: int = 0,
    ) -> None:
        self.space = space
        self.phases = phases
        self.model = model
        self.map_params = map_params
        self.regions = regions
        self.em_steps = em_steps
        self.training_iter = training_iter
        self.learning_rate = learning_rate
        self.rank = rank
        self.seed = seed

    def _check(self) -> None:
        if not isinstance(self.space, Space):
            raise TypeError(f"space must be a phasemapper.Space, got {type(self.space).__name__}")
        if len(tuple(self.phases)) < 2 or len(set(self.phases)) != len(tuple(self.phases)):
            raise ValueError(f"phases: need at least two distinct region names, got {self.phases!r}")
        check_bool("regions", self.regions)
        check_positive_int("em_steps", self.em_steps, 0)
        check_positive_int("training_iter", self.training_iter)
        check_number("learning_rate", self.learning_rate, low=0, high=1, low_open=True)
        check_positive_int("rank", self.rank)
        check_seed("seed", self.seed)

    # ------------------------------------------------------------------ fit
    def fit(self, points: Any, proba: Any, values: Any) -> PhaseProperty:
        """Fit to ``points`` with region probabilities ``proba`` ``(n, n_phases)`` (or integer labels)
        and property ``values`` ``(n,)``; a NaN value is a sample whose property was not measured."""
        from . import make_map
        from ._base import sorted_training_data

        self._check()
        require("gpytorch", "torch", by="PhaseProperty")
        t0 = time.perf_counter()
        pts = self.space.validate(points)
        y = np.asarray(values, dtype=float).reshape(-1)
        if y.shape != (len(pts),):
            raise ValueError(f"values must have shape ({len(pts)},), got {y.shape}")
        if np.isinf(y).any():
            raise ValueError("values must be finite (NaN marks a sample whose property was not measured)")
        has = ~np.isnan(y)
        if has.sum() < 3:
            raise ValueError(f"values: need at least 3 measured values, got {int(has.sum())}")
        sorted_training_data(self.space, pts, proba, len(self.phases))  # raises for a malformed proba
        p = _as_proba(proba, len(self.phases))
        self.phases_ = tuple(self.phases)
        self.points_, self.values_ = pts, y
        params = self.map_params if self.map_params is not None else SHARP_MAP.get(self.model, {})
        self.phase_map_ = make_map(self.model, self.space, self.phases_, **params)
        self.phase_map_.fit(pts, p)
        u = self.space.to_unit(pts)
        responsibilities = p.copy()
        state = None
        for step in range(self.em_steps + 1 if self.regions else 1):
            tasks = responsibilities[has].argmax(axis=1) if self.regions else np.zeros(int(has.sum()), dtype=int)
            state = self._fit_gp(u[has], y[has], tasks, state)
            if step == self.em_steps or not self.regions:
                break
            mean, var = self._leave_one_out()
            lik = np.exp(-0.5 * (y[has, None] - mean) ** 2 / var) / np.sqrt(var)
            post = p[has] * lik
            responsibilities[has] = post / np.maximum(post.sum(axis=1, keepdims=True), 1e-300)
            self.phase_map_.fit(pts, responsibilities)
        self.responsibilities_ = responsibilities
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _fit_gp(self, u: np.ndarray, y: np.ndarray, tasks: np.ndarray, start: Any = None) -> Any:
        """Hyperparameters by GPyTorch (``training_iter`` Adam steps, or a third of them from ``start``, the
        previous round's state); then the exact posterior's factors in numpy. Returns the state."""
        import gpytorch
        import torch

        k = len(self.phases_) if self.regions else 1
        offset, scale = float(np.mean(y)), float(np.std(y)) or 1.0
        z = (y - offset) / scale
        torch.manual_seed(self.seed)
        x_t = torch.as_tensor(u, dtype=torch.float64)
        i_t = torch.as_tensor(tasks, dtype=torch.long)[:, None]
        z_t = torch.as_tensor(z, dtype=torch.float64)
        likelihood = gpytorch.likelihoods.GaussianLikelihood().double()
        gp = _RegionGP(x_t, i_t, z_t, likelihood, k, min(self.rank, k), u.shape[1]).double()
        steps = self.training_iter
        if start is not None:
            gp.load_state_dict(start)
            steps = max(1, self.training_iter // 3)
        gp.train()
        likelihood.train()
        optimiser = torch.optim.Adam(gp.parameters(), lr=self.learning_rate)
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(likelihood, gp)
        with warnings.catch_warnings():  # torch's note on sparse tensors that GPyTorch's index kernel builds
            warnings.filterwarnings("ignore", "Sparse invariant checks", UserWarning)
            for _ in range(steps):
                optimiser.zero_grad()
                loss = -mll(gp(x_t, i_t), z_t)
                loss.backward()
                optimiser.step()
        with torch.no_grad():
            self.levels_ = offset + scale * gp.levels.detach().numpy().copy()
            self.lengthscale_ = gp.rbf.lengthscale.detach().numpy().reshape(-1).copy()
            self.region_covariance_ = scale**2 * gp.regions.covar_matrix.to_dense().detach().numpy().copy()
            self.noise_ = scale**2 * float(likelihood.noise.item())
        self._train = (u, y, tasks)
        gram = self._cov(u, tasks, u, tasks) + self.noise_ * np.eye(len(u))
        self._inverse = np.linalg.inv(gram)
        self._alpha = self._inverse @ (y - self.levels_[tasks])
        return gp.state_dict()

    def _cov(self, ua: np.ndarray, ta: np.ndarray, ub: np.ndarray, tb: np.ndarray) -> np.ndarray:
        d2 = (((ua[:, None, :] - ub[None, :, :]) / self.lengthscale_) ** 2).sum(axis=-1)
        return np.exp(-0.5 * d2) * self.region_covariance_[ta[:, None], tb[None, :]]

    def _leave_one_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Each training value's prediction by each region's model from all the other values:
        mean and variance (noise included) ``(n, n_phases)``, exactly (block inverse)."""
        u, _, tasks = self._train
        a, alpha, d = self._inverse, self._alpha, np.diag(self._inverse)
        mean, var = np.empty((len(u), len(self.phases_))), np.empty((len(u), len(self.phases_)))
        for c in range(len(self.phases_)):
            cross = self._cov(u, tasks, u, np.full(len(u), c))  # column i: cov(training, (x_i, c))
            ka = cross.T @ a
            k_alpha = cross.T @ alpha
            k_ai = np.diag(ka)
            mean[:, c] = self.levels_[c] + k_alpha - k_ai * alpha / d
            quad = np.einsum("ij,ji->i", ka, cross)
            var[:, c] = self.region_covariance_[c, c] - quad + k_ai**2 / d + self.noise_
        return mean, np.maximum(var, 1e-12)

    # -------------------------------------------------------------- predict
    def predict_proba(self, points: Any) -> np.ndarray:
        """Posterior region probabilities ``(n, n_phases)``."""
        return self.phase_map_.predict_proba(points)

    def predict_regions(self, points: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each region's property model at ``points``: mean and variance of ``m_c + f_c`` ``(n, n_phases)``."""
        u_train, _, tasks = self._train
        u = self.space.to_unit(self.space.validate(points))
        k = len(self.phases_) if self.regions else 1
        mean, var = np.empty((len(u), k)), np.empty((len(u), k))
        for c in range(k):
            cross = self._cov(u_train, tasks, u, np.full(len(u), c))
            mean[:, c] = self.levels_[c] + cross.T @ self._alpha
            var[:, c] = self.region_covariance_[c, c] - np.einsum("ij,ik,kj->j", cross, self._inverse, cross)
        return mean, np.maximum(var, 0.0)

    def predict(self, points: Any, include_noise: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The property at ``points``: mean and standard deviation, mixing the regions by their
        posterior probabilities (with the measurement noise unless ``include_noise=False``)."""
        weights, mean_c, var_c = self._mixture(points, include_noise)
        mean = (weights * mean_c).sum(axis=1)
        second = (weights * (var_c + mean_c**2)).sum(axis=1)
        return mean, np.sqrt(np.maximum(second - mean**2, 0.0))

    def predict_interval(self, points: Any, coverage: float = 0.95, include_noise: bool = True) -> np.ndarray:
        """Central interval ``(n, 2)`` holding ``coverage`` of the predictive distribution: quantiles of
        the mixture over regions, which, unlike mean +- 2 std, stays tight where one region is likely
        and a far level in another still carries a few percent."""
        coverage = check_number("coverage", coverage, low=0, high=1, low_open=True, high_open=True)
        weights, mean_c, var_c = self._mixture(points, include_noise)
        sd = np.sqrt(np.maximum(var_c, 1e-300))
        tail = (1.0 - coverage) / 2
        return np.column_stack([_mixture_quantile(weights, mean_c, sd, q) for q in (tail, 1.0 - tail)])

    def _mixture(self, points: Any, include_noise: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Region weights, means and variances of the predictive mixture at ``points``."""
        mean_c, var_c = self.predict_regions(points)
        var_c = var_c + (self.noise_ if include_noise else 0.0)
        weights = self.predict_proba(points) if self.regions else np.ones((len(mean_c), 1))
        return weights, mean_c, var_c


def _mixture_quantile(weights: np.ndarray, mean: np.ndarray, sd: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of each row's Gaussian mixture, by bisection on its distribution function."""
    from scipy.special import ndtr

    lo = (mean - 10 * sd).min(axis=1)
    hi = (mean + 10 * sd).max(axis=1)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = (weights * ndtr((mid[:, None] - mean) / sd)).sum(axis=1) < q
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _as_proba(proba: Any, k: int) -> np.ndarray:
    p = np.asarray(proba, dtype=float)
    if p.ndim == 1:
        p = np.eye(k)[p.astype(int)]
    return p / p.sum(axis=1, keepdims=True)


def _region_gp_class() -> type:
    import gpytorch
    import torch

    class RegionGP(gpytorch.models.ExactGP):
        """A constant level per region; an RBF kernel times a region (index) covariance."""

        def __init__(self, x, tasks, y, likelihood, n_regions, rank, ndim):
            super().__init__((x, tasks), y, likelihood)
            self.levels = torch.nn.Parameter(torch.zeros(n_regions, dtype=torch.float64))
            self.rbf = gpytorch.kernels.RBFKernel(ard_num_dims=ndim)
            self.regions = gpytorch.kernels.IndexKernel(num_tasks=n_regions, rank=rank)

        def forward(self, x, tasks):
            mean = self.levels[tasks.reshape(-1)]
            covar = self.rbf(x).mul(self.regions(tasks))
            return gpytorch.distributions.MultivariateNormal(mean, covar)

    return RegionGP


def _RegionGP(*args: Any) -> Any:  # noqa: N802 - builds the class on first use (gpytorch is optional)
    return _region_gp_class()(*args)
