"""The totally asymmetric simple exclusion process (TASEP) with open boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import register_system
from ._mcmc import MarkovChain, MonteCarloSystem

kernels = family("tasep")

__all__ = ["TASEP", "tasep_bulk"]


def tasep_bulk(alpha: Any, beta: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact bulk phase, density and current of the open TASEP for L -> infinity.

    Low density (``alpha < beta``, ``alpha < 1/2``): rho = alpha, J = alpha (1 - alpha);
    high density (``beta < alpha``, ``beta < 1/2``): rho = 1 - beta, J = beta (1 - beta);
    maximal current (both >= 1/2): rho = 1/2, J = 1/4. B. Derrida, M. R. Evans,
    V. Hakim and V. Pasquier, J. Phys. A 26, 1493 (1993).
    """
    a, b = np.broadcast_arrays(np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float))
    mc = (a >= 0.5) & (b >= 0.5)
    ld = ~mc & (a < b)
    phase = np.where(mc, "max_current", np.where(ld, "low_density", "high_density"))
    rho = np.where(mc, 0.5, np.where(ld, a, 1.0 - b))
    current = np.where(mc, 0.25, np.where(ld, a * (1 - a), b * (1 - b)))
    return phase, rho, current


class TASEP(MonteCarloSystem):
    """Open-boundary TASEP on ``L`` sites: particles enter at rate ``alpha``, hop right at rate 1, leave at rate ``beta``.

    Axes ``alpha`` and ``beta`` in (0, 1]. Phases ``low_density``,
    ``high_density`` and ``max_current`` with the exact bulk densities and
    currents of Derrida, Evans, Hakim & Pasquier (1993), see :func:`tasep_bulk`.
    Random-sequential updates (``L + 1`` attempts per unit of time).

    Samples are occupation profiles (int8, dim ``site``) with observables
    ``density`` (mean occupation), ``bulk_density`` (mean over the middle half,
    away from the boundary layers) and ``current`` (moves per bond per unit
    time, averaged over the time since the previous sample). They are spaced by
    the autocorrelation time of the bulk density and current (pilot run).

    Examples
    --------
    >>> from phasemapper.systems import TASEP
    >>> s = TASEP(L=20).sample([0.2, 0.8], n_samples=5, seed=0)
    >>> s.configurations.shape
    (5, 20)
    """

    name = "tasep"
    reference = "Derrida, Evans, Hakim & Pasquier 1993"
    phases = ("low_density", "high_density", "max_current")
    site_dims = ("site",)
    size_param = "L"

    def __init__(
        self,
        *,
        L: int = 100,
        decorrelation: float = 2.0,
        thermalization: int | None = None,
        max_spacing: int = 100_000,
    ) -> None:
        self.L = check_positive_int("L", L, minimum=2)
        self._init_sampling(decorrelation, 4 * self.L if thermalization is None else thermalization, max_spacing)
        self.space = Space([Axis("alpha", 0.05, 1.0), Axis("beta", 0.05, 1.0)])

    def default_labeler(self) -> Any:
        """Low density, high density or maximal current from the bulk density (:class:`~phasemapper.labelers.TasepLabeler`)."""
        from ..labelers import TasepLabeler

        return TasepLabeler()

    def site_shape(self) -> tuple[int, ...]:
        return (self.L,)

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        for name, value in zip(("alpha", "beta"), point):
            if not 0 < value <= 1:
                raise ValueError(f"axis {name!r}: rate must be in (0, 1], got {value:g}")

    def reference_phase(self, points: Any) -> np.ndarray:
        pts = self.points(points)
        return tasep_bulk(pts[:, 0], pts[:, 1])[0]

    def reference_critical_points(self) -> list[CriticalPoint]:
        """The phase boundaries: alpha = beta < 1/2 (first order) and the lines at 1/2 (continuous)."""
        return [
            CriticalPoint("alpha", 0.5, 0.0, "exact: Derrida et al. 1993 (LD-MC)", at={"beta": 0.75}),
            CriticalPoint("beta", 0.5, 0.0, "exact: Derrida et al. 1993 (HD-MC)", at={"alpha": 0.75}),
            CriticalPoint("alpha", 0.25, 0.0, "exact: Derrida et al. 1993 (LD-HD, alpha = beta)", at={"beta": 0.25}),
        ]

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        init_seed, chain_seed = ss.spawn(2)
        chain = _TasepChain(self.L, float(point[0]), float(point[1]), new_state(chain_seed))
        chain.config[:] = np.random.default_rng(init_seed).integers(0, 2, size=self.L)
        return self._run(chain, n_samples)


class _TasepChain(MarkovChain):
    """One TASEP chain at ``(alpha, beta)``; the record loop runs inside ``kernels.run_records``."""

    algorithm = "random_sequential"

    def __init__(self, L: int, alpha: float, beta: float, state: np.ndarray) -> None:
        self.L = L
        self.config = np.zeros(L, dtype=np.int8)
        self.alpha_thr = kernels.rate_threshold(alpha)
        self.beta_thr = kernels.rate_threshold(beta)
        self.state = state
        self.bulk = (L // 4, L - L // 4)
        self.moves = self.attempts = 0

    def advance(self, n_records: int, per_record: int, store: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        configs = np.empty((n_records if store else 1, self.L), dtype=np.int8)
        obs = {name: np.empty(n_records) for name in ("density", "bulk_density", "current")}
        self.moves += kernels.run_records(
            self.config,
            n_records,
            per_record,
            self.alpha_thr,
            self.beta_thr,
            self.state,
            *self.bulk,
            configs,
            obs["density"],
            obs["bulk_density"],
            obs["current"],
            store,
        )
        self.attempts += n_records * per_record * (self.L + 1)
        return configs[:n_records] if store else configs[:0], obs

    def acceptance_rate(self) -> float:
        return float(self.moves / self.attempts) if self.attempts else 1.0

    def tau_series(self, observables: dict[str, np.ndarray]) -> list[np.ndarray]:
        return [observables["bulk_density"], observables["current"]]


register_system("tasep", TASEP)
