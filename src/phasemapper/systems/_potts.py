"""The q-state Potts model on a periodic square lattice."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_positive_int
from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import register_system
from ._mcmc import LatticeChain, LatticeSystem

kernels = family("potts")

__all__ = ["Potts2D"]

_ALGORITHMS = ("auto", "heatbath", "wolff")


class Potts2D(LatticeSystem):
    """q-state Potts model ``H = -J sum_<ij> delta(s_i, s_j)`` on an L x L torus, ``s in {0..q-1}``.

    Axis ``T``. Phases ``ordered`` and ``disordered``, separated at Baxter's
    exact ``Tc = J / ln(1 + sqrt q)`` (R. J. Baxter, J. Phys. C 6, L445 (1973));
    the transition is continuous for ``q <= 4`` and first order for ``q >= 5``.

    Updates: checkerboard heat bath and Wolff clusters (a cluster of equal
    spins takes a new, different state; bonds with ``p = 1 - exp(-J/T)``).
    ``algorithm="auto"`` does both in every step (a heat-bath sweep plus
    clusters flipping about ``L*L`` sites). Observables per site: ``energy`` and
    ``magnetization``, the order parameter ``(q max_k n_k / N - 1) / (q - 1)``.
    Sampling is as for :class:`Ising2D` (pilot autocorrelation time, spacing).

    Examples
    --------
    >>> from phasemapper.systems import Potts2D
    >>> s = Potts2D(L=8, q=3).sample([0.8], n_samples=5, seed=0)
    >>> s.configurations.shape, int(s.configurations.max()) <= 2
    ((5, 8, 8), True)
    """

    name = "potts2d"
    reference = "Baxter 1973"
    phases = ("ordered", "disordered")
    algorithms = _ALGORITHMS

    def __init__(self, *, q: int = 3, **lattice: Any) -> None:
        self.q = check_positive_int("q", q, minimum=2)
        if self.q > 127:
            raise ValueError(f"q must be <= 127 (int8 configurations), got {q}")
        super().__init__(**lattice)

    def default_labeler(self) -> Any:
        """Ordered or not from the Binder cumulant of the two-component order parameter: it runs from 1/3
        (disordered) to 2/3 (ordered), so the threshold is the midpoint 0.5."""
        from ..labelers import OrderParameterLabeler

        return OrderParameterLabeler(critical_value=0.5, phases=self.phases)

    def default_space(self) -> Space:
        return Space([Axis("T", 0.5 * self.critical_temperature, 1.5 * self.critical_temperature)])

    @property
    def critical_temperature(self) -> float:
        """Baxter's exact ``Tc = J / ln(1 + sqrt q)``."""
        return self.J / math.log(1.0 + math.sqrt(self.q))

    def reference_phase(self, points: Any) -> np.ndarray:
        """``ordered`` below Baxter's Tc, ``disordered`` above."""
        pts = self.points(points)
        return np.where(pts[:, 0] < self.critical_temperature, "ordered", "disordered")

    def reference_critical_points(self) -> list[CriticalPoint]:
        """Baxter's exact Tc; the method names the order of the transition."""
        order = "continuous" if self.q <= 4 else "first order"
        return [CriticalPoint("T", self.critical_temperature, 0.0, f"exact: Baxter 1973 ({order})")]

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        T = float(point[0])
        init_seed, chain_seed = ss.spawn(2)
        chain = _PottsChain(self, T, new_state(chain_seed))
        rng = np.random.default_rng(init_seed)
        if T < self.critical_temperature:
            chain.config[:] = rng.integers(0, self.q)
        else:
            chain.config[:] = rng.integers(0, self.q, size=chain.config.shape)
        return self._run(chain, n_samples)


class _PottsChain(LatticeChain):
    observables = ("energy", "magnetization")

    def __init__(self, system: Potts2D, T: float, state: np.ndarray) -> None:
        super().__init__(system.L * system.L, system.algorithm, local="heatbath")
        self.q, self.J, self.state = system.q, system.J, state
        self.config = np.zeros((system.L, system.L), dtype=np.int8)
        self.boltz = kernels.heatbath_table(T, system.J)
        self.p_thr = kernels.wolff_threshold(T, system.J)
        self.stack = np.empty(self.n, dtype=np.int64)

    def run_records(
        self, n_records: int, sweeps: int, clusters: int, configs: np.ndarray, values: np.ndarray, store: bool
    ) -> tuple[int, int]:
        return kernels.run_records(
            self.config,
            self.q,
            self.J,
            n_records,
            sweeps,
            clusters,
            self.boltz,
            self.p_thr,
            self.state,
            self.stack,
            configs,
            values,
            store,
        )

    def clusters(self, n: int) -> int:
        return kernels.wolff_clusters(self.config, self.q, n, self.p_thr, self.state, self.stack)


register_system("potts2d", Potts2D)
