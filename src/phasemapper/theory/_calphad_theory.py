"""Theory in the loop: refit uncertain CALPHAD parameters to observed phase assemblages; the refit
diagram becomes the phase map's prior (after Liang et al., AMASE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import ndtr

from .._checks import check_finite, check_positive_int, check_seed
from .._space import Space
from ..progress import track
from ..systems._calphad import Calphad

__all__ = ["CalphadTheory"]

#: rise of the negative log posterior (nats) that marks the edge of the basin the importance proposal spans
BASIN_RISE = 8.0
#: at most this many blocks of ``n_importance`` importance draws
IMPORTANCE_BLOCKS = 4


class CalphadTheory:
    """A CALPHAD model whose free parameters are refit to the phase assemblages an experiment reports.

    Observation model (the same one :class:`~phasemapper.systems.Experiment`
    simulates): phase ``j`` is seen with probability
    ``Phi((f_j(theta) - t) / s)``, where ``f_j`` is its equilibrium fraction
    under parameters ``theta``, ``t`` = ``detection_limit`` (``2 s`` if that is 0) and ``s`` is
    ``softness``; the reported assemblage is wrong with probability ``flip``
    (uniformly among the others). :meth:`fit` maximises the likelihood times a
    Gaussian prior of width ``prior_sd`` (J/mol) around the starting values
    (a quasi-random look, then Nelder-Mead from its best point; every fit
    starts afresh, so the result depends on the data alone) and takes the
    uncertainty from a quadratic fit of the negative log posterior around the
    maximum (Laplace), refined by importance sampling (blocks of
    ``n_importance`` quasi-random draws) from a Gaussian that spans the
    basin of the posterior, not just its nearest step (posterior mean and
    covariance): ``params_``, ``cov_``, ``sd_``, and the draws' effective
    sample size ``ess_``.

    :meth:`prior_field` draws ``n_draws`` parameter sets from that posterior,
    computes each diagram on a ``grid_size`` x ``grid_size`` grid and returns
    the fraction of draws in each assemblage, as a prior for the phase map
    held with ``certainty``: where the refit theory is sure the map follows it,
    where its draws disagree the map stays uncertain and the planner looks.

    Parameters
    ----------
    model : Calphad
        With ``free_parameters``; its ``parameters`` are the starting values (the prior mean).
    detection_limit, flip : float
        The experiment's measurement model.
    softness : float
        Width (phase fraction) of the detection threshold.
    prior_sd : float
        Prior standard deviation of each free parameter (J/mol).
    certainty : float
        How strongly the phase map holds the theory's diagram, in [0, 1].
    grid_size, n_draws, n_importance, seed : int
        The prior field's grid, its posterior draws, the draws per importance-sampling block, and their seed.

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper.systems import Calphad
    >>> from phasemapper.theory import CalphadTheory
    >>> truth = Calphad.pbsn()
    >>> start = Calphad.pbsn(free_parameters=[{"phase": "LIQUID", "order": 0}], parameters={"L0_LIQUID": 1500.0})
    >>> pts = np.column_stack([np.linspace(0.05, 0.95, 19), np.full(19, 480.0)])
    >>> labels = [truth.phases.index(p) for p in truth.reference_phase(pts)]
    >>> theory = CalphadTheory(start, detection_limit=0.0).fit(pts, labels)
    >>> abs(theory.params_["L0_LIQUID"]) < 3 * theory.sd_["L0_LIQUID"] + 150
    True
    """

    def __init__(
        self,
        model: Calphad,
        detection_limit: float = 0.03,
        flip: float = 0.02,
        softness: float = 0.01,
        prior_sd: float = 3000.0,
        certainty: float = 0.8,
        grid_size: int = 25,
        n_draws: int = 4,
        n_importance: int = 64,
        seed: int = 0,
    ) -> None:
        if not isinstance(model, Calphad):
            raise TypeError(f"model must be a phasemapper.systems.Calphad, got {type(model).__name__}")
        if not model.free_parameters:
            raise ValueError("model has no free_parameters to refit")
        self.model = model
        self.detection_limit = check_finite("detection_limit", detection_limit)
        self.flip = check_finite("flip", flip)
        self.softness = check_finite("softness", softness)
        self.prior_sd = check_finite("prior_sd", prior_sd)
        self.certainty = check_finite("certainty", certainty)
        for name, value, ok in (
            ("detection_limit", self.detection_limit, 0 <= self.detection_limit < 0.5),
            ("flip", self.flip, 0 <= self.flip < 1),
            ("softness", self.softness, self.softness > 0),
            ("prior_sd", self.prior_sd, self.prior_sd > 0),
            ("certainty", self.certainty, 0 <= self.certainty <= 1),
        ):
            if not ok:
                raise ValueError(f"{name} is out of range: {value!r}")
        self.grid_size = check_positive_int("grid_size", grid_size, minimum=3)
        self.n_draws = check_positive_int("n_draws", n_draws, minimum=0)
        self.n_importance = check_positive_int("n_importance", n_importance, minimum=8)
        self.seed = check_seed("seed", seed)
        self.names = [p.name for p in model.free_parameters]
        self.start = np.array([model.parameters[n] for n in self.names])
        # (n_assemblages, n_db_phases): whether each database phase belongs to each assemblage
        self._membership = np.array([[p in name.split("+") for p in model.db_phases] for name in model.phases])

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model.params(),
            "detection_limit": self.detection_limit,
            "flip": self.flip,
            "softness": self.softness,
            "prior_sd": self.prior_sd,
            "certainty": self.certainty,
            "grid_size": self.grid_size,
            "n_draws": self.n_draws,
            "n_importance": self.n_importance,
            "seed": self.seed,
        }

    @classmethod
    def from_params(cls, model: Mapping[str, Any], **params: Any) -> CalphadTheory:
        """Rebuild from :meth:`params` (how a run's manifest restores it)."""
        return cls(Calphad(**model), **params)

    # ------------------------------------------------------------------ fit
    def negative_log_posterior(self, theta: np.ndarray, points: np.ndarray, labels: np.ndarray) -> float:
        """``-log p(labels | theta) - log prior(theta)`` (up to a constant)."""
        values = dict(zip(self.names, map(float, theta)))
        try:
            frac, _ = self.model.fractions(points, values)
        except ValueError:  # no equilibrium found for these parameters: treat as impossible
            return 1e12
        t = self.detection_limit if self.detection_limit > 0 else 2 * self.softness
        seen = ndtr((frac - t) / self.softness)
        member = self._membership[labels]  # (n, n_db_phases) bool: phase j in the reported assemblage
        p_set = np.prod(np.where(member, seen, 1.0 - seen), axis=1)
        k = len(self.model.phases)
        p_obs = (1.0 - self.flip) * p_set + self.flip * (1.0 - p_set) / (k - 1)
        prior = 0.5 * np.sum(((theta - self.start) / self.prior_sd) ** 2)
        return float(-np.log(np.maximum(p_obs, 1e-12)).sum() + prior)

    def fit(self, points: Any, labels: Any) -> CalphadTheory:
        """Refit to ``points`` ``(n, 2)`` and their assemblages (indices into ``model.phases``, or
        probabilities ``(n, n_phases)``, of which the most likely is taken)."""
        pts = self.model.space.validate(points)
        lab = np.asarray(labels, dtype=float)
        lab = lab.argmax(axis=1) if lab.ndim == 2 else lab.astype(int)
        if len(lab) != len(pts):
            raise ValueError(f"fit got {len(pts)} points but {len(lab)} labels")
        if len(pts) and (lab.min() < 0 or lab.max() >= len(self.model.phases)):
            raise ValueError(f"labels must index the {len(self.model.phases)} assemblages {self.model.phases}")
        order = np.lexsort(pts.T[::-1])  # the fit never depends on the order data arrived in
        pts, lab = pts[order], lab[order]
        f = lambda th: self.negative_log_posterior(th, pts, lab)  # noqa: E731
        # coarse global look (the likelihood has plateaus), then Nelder-Mead from the best point
        from scipy.stats import qmc

        p = len(self.start)
        probe = self.start + self.prior_sd * (2.0 * qmc.Sobol(p, seed=self.seed).random(16) - 1.0)
        candidates = [self.start] + list(probe)
        x0 = min(candidates, key=f)
        simplex = np.vstack([x0] + [x0 + 300.0 * np.eye(p)[i] for i in range(p)])
        res = minimize(
            f,
            x0,
            method="Nelder-Mead",
            options={"initial_simplex": simplex, "xatol": 5.0, "fatol": 1e-3, "maxfev": 60 * p},
        )
        theta, cov = self._laplace(f, res.x, res.fun)
        theta, self.cov_ = self._importance(f, theta, cov)
        self.params_ = dict(zip(self.names, map(float, theta)))
        self.sd_ = dict(zip(self.names, map(float, np.sqrt(np.diag(self.cov_)))))
        self.nlp_, self.n_obs_ = float(f(theta)), len(pts)
        return self

    def _importance(self, f: Any, theta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and covariance by importance sampling around the Laplace estimate.

        A likelihood of detection thresholds is stepped once experiments sit on the boundaries: its local
        curvature can be far sharper than its basin, and its minimum is one of many near-equal plateaus.
        So the proposal is a Gaussian along the Laplace axes whose width on each axis is where ``f`` has
        risen by ``BASIN_RISE`` (the basin, not the nearest step), never narrower than the Laplace width.
        Quasi-random draws come in blocks of ``n_importance`` until the effective sample size reaches
        ``4 p`` (at most ``IMPORTANCE_BLOCKS`` blocks); if it never does, the Laplace covariance is added
        to the importance one rather than claim a precision the draws cannot show. ``ess_`` is kept.
        """
        from scipy.special import ndtri
        from scipy.stats import qmc

        p = len(theta)
        w, v = np.linalg.eigh(cov)
        f0 = f(theta)
        widths = np.array([self._basin_width(f, theta, f0, v[:, i], np.sqrt(w[i])) for i in range(p)])
        scale = v * widths
        sobol = qmc.Sobol(p, seed=self.seed + 1)
        z = np.empty((0, p))
        logw = np.empty(0)
        for _ in range(IMPORTANCE_BLOCKS):
            zb = ndtri(np.clip(sobol.random(self.n_importance), 1e-6, 1 - 1e-6))
            logw = np.concatenate(
                [
                    logw,
                    [
                        -f(theta + zz @ scale.T) + 0.5 * zz @ zz
                        for zz in track(zb, "theory: posterior by importance sampling")
                    ],
                ]
            )
            z = np.vstack([z, zb])
            weights = np.exp(logw - logw.max())
            weights /= weights.sum()
            self.ess_ = float(1.0 / np.sum(weights**2))
            if self.ess_ >= 4 * p:
                break
        thetas = theta + z @ scale.T
        mean = weights @ thetas
        d = thetas - mean
        spread = (weights[:, None] * d).T @ d
        return mean, spread if self.ess_ >= 4 * p else spread + cov

    def _basin_width(self, f: Any, theta: np.ndarray, f0: float, direction: np.ndarray, width: float) -> float:
        """Distance along ``direction`` (doubling from ``width``) at which ``f`` has risen by ``BASIN_RISE`` on
        average over both sides, capped at three prior widths."""
        s = max(width, 1e-3 * self.prior_sd)
        while s < 3.0 * self.prior_sd:
            if 0.5 * (f(theta + s * direction) + f(theta - s * direction)) - f0 >= BASIN_RISE:
                return s
            s *= 2.0
        return 3.0 * self.prior_sd

    def _laplace(self, f: Any, theta: np.ndarray, f0: float) -> tuple[np.ndarray, np.ndarray]:
        """Centre and covariance from a quadratic fit of ``f`` on a 3^p design around ``theta``.

        The design's step along each axis is set where ``f`` rises by about 2 (two standard deviations of
        a Gaussian), so a flat-bottomed likelihood gets the width of its basin, not the steepness of its
        walls; the centre is the fitted quadratic's minimum, kept inside the design.
        """
        p = len(theta)
        step = np.empty(p)
        for i in range(p):
            lo, hi, s = 0.0, np.inf, 200.0
            for _ in range(10):
                e = np.eye(p)[i] * s
                rise = 0.5 * (f(theta + e) + f(theta - e)) - f0
                if rise < 1.0:
                    lo = s
                elif rise > 4.0:
                    hi = s
                else:
                    break
                s = 2.0 * s if hi == np.inf else float(np.sqrt(max(lo, 1.0) * hi))
                if s > 3.0 * self.prior_sd:
                    break
            step[i] = min(s, 3.0 * self.prior_sd)
        z = np.array(np.meshgrid(*[[-1.0, 0.0, 1.0]] * p, indexing="ij")).reshape(p, -1).T
        values = np.array([f0 if not zz.any() else f(theta + zz * step) for zz in z])
        iu = np.triu_indices(p)
        design = np.column_stack([np.ones(len(z)), z] + [z[:, i] * z[:, j] for i, j in zip(*iu)])
        coef, *_ = np.linalg.lstsq(design, values, rcond=None)
        h = np.zeros((p, p))
        for c, (row, col) in zip(coef[1 + p :], zip(*iu)):
            h[row, col] = h[col, row] = 2.0 * c if row == col else c
        w, v = np.linalg.eigh(h)
        w = np.maximum(w, 1e-6)
        shift = -(v / w) @ v.T @ coef[1 : 1 + p]
        centre = theta + np.clip(shift, -1.0, 1.0) * step
        hs = h / np.outer(step, step)
        w, v = np.linalg.eigh(hs)
        w = np.maximum(w, 1.0 / self.prior_sd**2)  # never more uncertain than the prior
        return centre, (v / w) @ v.T

    # ------------------------------------------------------------ predict
    def draws(self) -> list[dict[str, float]]:
        """The posterior estimate followed by ``n_draws`` seeded draws from N(params_, cov_)."""
        theta = np.array([self.params_[n] for n in self.names])
        rng = np.random.default_rng(self.seed)
        out = [theta] + list(rng.multivariate_normal(theta, self.cov_, size=self.n_draws))
        return [dict(zip(self.names, map(float, t))) for t in out]

    def fitted_model(self) -> Calphad:
        """The model at the refit parameters."""
        return self.model.with_parameters(self.params_)

    def prior_field(self, space: Space | None = None) -> dict[str, Any]:
        """The refit diagram as a phase-map prior: ``{"field": {...}, "certainty": ..., "source": "theory"}``."""
        space = space or self.model.space
        axes = [space[n].linspace(self.grid_size) for n in space.names]
        x, t = axes[space.names.index(self.model.space.names[0])], axes[space.names.index("T")]
        counts = np.zeros((len(x), len(t), len(self.model.phases)))
        for values in track(self.draws(), "theory: diagrams of the posterior draws"):
            frac, _ = self.model.fractions_grid(x, t, values)
            idx = self.model.assemblage_index(frac.reshape(-1, frac.shape[-1])).reshape(len(x), len(t))
            counts[np.arange(len(x))[:, None], np.arange(len(t))[None, :], idx] += 1.0
        proba = (counts + 0.1) / (counts + 0.1).sum(axis=-1, keepdims=True)
        if space.names[0] != self.model.space.names[0]:
            proba = proba.transpose(1, 0, 2)
        return {
            "field": {"axes": [a.tolist() for a in axes], "proba": proba.tolist()},
            "certainty": self.certainty,
            "source": "theory",
        }

    def features(self) -> dict[str, float]:
        """The refit diagram's eutectic: ``eutectic_T`` (K) and ``eutectic_x`` (mole fraction of the second component)."""
        t_e, x_e = self.fitted_model().eutectic()
        return {"eutectic_T": float(t_e), "eutectic_x": float(x_e)}

    def summary(self) -> dict[str, Any]:
        """Refit parameters with their uncertainty, as JSON."""
        return {
            "parameters": self.params_,
            "sd": self.sd_,
            "cov": self.cov_.tolist(),
            "n_observations": self.n_obs_,
            "effective_sample_size": self.ess_,
            "start": dict(zip(self.names, map(float, self.start))),
        }
