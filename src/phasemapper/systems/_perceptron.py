"""Regimes of SGD in the perceptron: lazy or feature learning, and whether SGD noise changes the trained model.

After A. Sclocchi, M. Geiger and M. Wyart, "Dissecting the effects of SGD noise in distinct regimes of deep
learning", ICML 2023 (arXiv:2301.13703), section on the perceptron, and A. Sclocchi and M. Wyart, "On the
different regimes of stochastic gradient descent", PNAS 121 (2024) for the scaling of the weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_number, check_positive_int
from .._space import Axis, Space
from .._types import Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import System, register_system

__all__ = ["PerceptronSGD", "draw_perceptron_data"]

kernels = family("perceptron")


def draw_perceptron_data(rng: np.random.Generator, n: int, d: int, chi: float) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points in R^d labelled by the sign of their first coordinate, which has density ``~ |x1|^chi exp(-x1^2/2)``.

    The other coordinates are standard normal. ``|x1| = sqrt(2 G)`` with ``G ~ Gamma((chi + 1) / 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = draw_perceptron_data(np.random.default_rng(0), 5, 3, chi=1.0)
    >>> X.shape, bool(np.all(np.sign(X[:, 0]) == y))
    ((5, 3), True)
    """
    magnitude = np.sqrt(2.0 * rng.gamma((chi + 1.0) / 2.0, size=n))
    y = rng.choice(np.array([-1.0, 1.0]), size=n)
    X = rng.standard_normal((n, d))
    X[:, 0] = magnitude * y
    return X, y


class PerceptronSGD(System):
    """A perceptron ``f(w, x) = w . x / sqrt(d)`` trained by SGD on the alpha-scaled hinge loss until it fits every point.

    The loss of a point is ``max(0, 1 - alpha (f(w, x) - f(w0, x)) y) / alpha`` (Sclocchi, Geiger & Wyart 2023),
    with ``w0 ~ N(0, I_d)``: ``alpha`` sets how far the weights must move (large ``alpha``: lazy, the weights
    barely change; small ``alpha``: they must grow, feature learning). The ``n_train`` training points have
    labels ``y = sign(x1)`` and a density ``~ |x1|^chi`` near the decision boundary. SGD takes batches of
    ``batch_size`` in a fresh random order each epoch at temperature ``T = learning rate / batch size`` and stops
    at the end of the first epoch after which every margin is reached (or after ``max_steps`` batches).

    The predictor ``alpha (f(w) - f(w0))`` depends on ``alpha`` and ``T`` only through ``alpha T``; ``alpha``
    also sets how large the change of the weights is relative to ``w0``. Each run is trained twice on the same
    data and order of batches: at ``T`` and, as a near-gradient-descent replica, at ``T / cold_factor``. SGD noise
    changes the trained model where the replicas' weights differ: below the paper's ``T_c(P)`` the trained
    weights do not depend on ``T`` (gradient descent), above it they grow with ``T``.

    Observables per run:

    - ``test_error``: misclassified share of ``n_test`` fresh points;
    - ``rel_change``: ``||w - w0|| / ||w0||`` (below 1: lazy);
    - ``change``: ``||w - w0||``;
    - ``stopping_time``: learning rate times the SGD steps to fit every point (the paper's ``t*``);
    - ``norm_ratio``: ``||w - w0||`` at ``T`` over that of the replica at ``T / cold_factor`` (``1`` where noise
      does not matter, up to ``cold_factor`` where the weights grow as ``T``);
    - ``fitted``, ``cold_fitted``: 1 if the run (its replica) fitted every point within ``max_steps``.

    Configurations are the changes ``w - w0`` (``d`` weights per run). The defaults keep the paper's ``d = 128``;
    the paper scans ``P`` up to 2^14 and stops at a fitted training set, here ``max_steps`` bounds a run
    (about 1.5 s of one core). Its default labeler is :class:`~phasemapper.labelers.PerceptronPhaseLabeler`.

    Parameters
    ----------
    d : int
        Input dimension (the paper: 128).
    n_train : int
        Training-set size ``P``.
    chi : float
        Exponent of the density of ``x1`` near the decision boundary (the paper: 0 and 1).
    batch_size : int
        Points per SGD step.
    n_test : int
        Fresh points for the test error.
    max_steps : int
        SGD steps after which a run stops unfitted.
    cold_factor : float
        The replica's temperature is ``T / cold_factor``.

    Examples
    --------
    >>> from phasemapper.systems import PerceptronSGD
    >>> system = PerceptronSGD(n_train=64, d=16, n_test=100)
    >>> s = system.sample([1.0, 0.5], n_samples=3, seed=0)  # alpha, T
    >>> s.configurations.shape, bool(s.observables["fitted"].all())
    ((3, 16), True)
    """

    name = "perceptron_sgd"
    reference = "Sclocchi, Geiger & Wyart 2023"
    phases = ("lazy", "feature", "lazy_noisy", "feature_noisy")
    site_dims = ("weight",)
    config_dtype = np.float32

    def __init__(
        self,
        *,
        d: int = 128,
        n_train: int = 1024,
        chi: float = 0.0,
        batch_size: int = 1,
        n_test: int = 4096,
        max_steps: int = 20_000_000,
        cold_factor: float = 4.0,
    ) -> None:
        self.d = check_positive_int("d", d)
        self.n_train = check_positive_int("n_train", n_train, 2)
        self.chi = check_number("chi", chi, low=0.0, high=16.0)
        self.batch_size = check_positive_int("batch_size", batch_size, maximum=self.n_train)
        self.n_test = check_positive_int("n_test", n_test)
        self.max_steps = check_positive_int("max_steps", max_steps)
        self.cold_factor = check_number("cold_factor", cold_factor, low=1.0, low_open=True)
        self.space = Space([Axis("alpha", 2.0**-3, 2.0**7, scale="log"), Axis("T", 2.0**-4, 2.0**6, scale="log")])

    def default_labeler(self) -> Any:
        """Lazy or feature learning, with or without SGD noise (:class:`~phasemapper.labelers.PerceptronPhaseLabeler`)."""
        from ..labelers import PerceptronPhaseLabeler

        return PerceptronPhaseLabeler(cold_factor=self.cold_factor)

    def site_shape(self) -> tuple[int, ...]:
        return (self.d,)

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        alpha, T = float(point[0]), float(point[1])
        changes = np.empty((n_samples, self.d))
        rows = [self._run(child, alpha, T, changes[i]) for i, child in enumerate(ss.spawn(n_samples))]
        observables = {key: np.array([row[key] for row in rows]) for key in rows[0]}
        metadata = {"learning_rate": T * self.batch_size, "batch_size": self.batch_size, "n_train": self.n_train}
        return Samples(changes.astype(np.float32), observables, metadata)

    def _run(self, seed: np.random.SeedSequence, alpha: float, T: float, change: np.ndarray) -> dict[str, float]:
        data_seed, order_seed = seed.spawn(2)
        rng = np.random.default_rng(data_seed)
        X, y = draw_perceptron_data(rng, self.n_train, self.d, self.chi)
        X_test, y_test = draw_perceptron_data(rng, self.n_test, self.d, self.chi)
        w0_norm = float(np.linalg.norm(rng.standard_normal(self.d)))
        # in v = alpha (w - w0) the loss is the plain hinge with margin 1 and the step is alpha T per active point
        results = []
        for temperature in (T, T / self.cold_factor):
            v = np.zeros(self.d)
            steps, fitted = kernels.train_hinge(
                X, y, alpha * temperature, self.batch_size, self.max_steps, v, new_state(order_seed)
            )
            results.append((v, int(steps), bool(fitted)))
        (v, steps, fitted), (v_cold, _, cold_fitted) = results
        change[:] = v / alpha
        norm, norm_cold = float(np.linalg.norm(v)), float(np.linalg.norm(v_cold))
        return {
            "test_error": float(np.mean(np.sign(X_test @ v) != y_test)),
            "rel_change": norm / alpha / w0_norm,
            "change": norm / alpha,
            "stopping_time": T * self.batch_size * steps,
            "norm_ratio": norm / norm_cold,  # both > 0: every margin starts at 0, so the first step moves v
            "fitted": float(fitted),
            "cold_fitted": float(cold_fitted),
        }


register_system("perceptron_sgd", PerceptronSGD)
