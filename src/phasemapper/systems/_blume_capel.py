"""The spin-1 Blume-Capel model on a periodic square lattice."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import register_system
from ._mcmc import LatticeChain, LatticeSystem

kernels = family("blume_capel")

__all__ = ["BlumeCapel2D", "BLUME_CAPEL_TRANSITION_LINE", "BLUME_CAPEL_TRICRITICAL"]

#: Tricritical point (D, T) of the square-lattice Blume-Capel model, J = 1:
#: W. Kwak, J. Jeong, J. Lee and D.-H. Kim, PRE 92, 022134 (2015).
BLUME_CAPEL_TRICRITICAL = (1.9660, 0.6080)

#: Points (D, Tc) of the ferro-para line, J = 1, from the literature:
#: D = 0: Tc = 1.693 (Kwak et al. 2015; series: Butera et al., PRB 67, 2003; 1.6929);
#: D = 1: Tc = 1.398 (Malakis et al., PRE 81, 041113 (2010));
#: D = 1.5: Tc = 1.155 (transfer matrix, J. Beale, PRB 33, 1717 (1986); Wang-Landau,
#: C. J. Silva, A. A. Caparica and J. A. Plascak, PRE 73, 036702 (2006));
#: D = 1.75: Tc = 0.957 (Malakis et al. 2010); the tricritical point above; and D = 2 at
#: T = 0 (ground state: the +-1 and 0 states are degenerate at D = zJ/2 = 2).
#: As collected in J. Zierenberg et al., Eur. Phys. J. Spec. Top. 226, 789 (2017).
BLUME_CAPEL_TRANSITION_LINE = np.array(
    [[0.0, 1.693], [1.0, 1.398], [1.5, 1.155], [1.75, 0.957], [1.9660, 0.6080], [2.0, 0.0]]
)

_ALGORITHMS = ("auto", "heatbath")  # Wolff alone never moves the zeros: not ergodic


class BlumeCapel2D(LatticeSystem):
    """Blume-Capel model ``H = -J sum_<ij> s_i s_j + D sum_i s_i^2``, ``s in {-1, 0, 1}``, on an L x L torus.

    Axes ``T`` and ``D`` (crystal field). Phases ``ferro`` and ``para``: a
    second-order line (Ising class) from ``Tc(D=0) ~ 1.693`` down to the
    tricritical point ``(D, T) ~ (1.9660, 0.6080)`` (Kwak et al., PRE 92,
    022134 (2015)), then a first-order line reaching ``D = 2`` at ``T = 0``.
    ``reference_phase`` interpolates (PCHIP in D) the literature points in
    :data:`BLUME_CAPEL_TRANSITION_LINE` (sources in its comment).

    Updates: checkerboard heat bath (moves zeros) and Wolff clusters of the
    +-1 spins (Ising embedding; zeros act as vacancies). ``algorithm="auto"``
    does both every step. Observables per site: ``energy``, ``magnetization``
    and ``density`` (fraction of non-zero spins).

    Examples
    --------
    >>> from phasemapper.systems import BlumeCapel2D
    >>> s = BlumeCapel2D(L=8).sample([1.0, 0.5], n_samples=5, seed=0)
    >>> sorted(s.observables)
    ['density', 'energy', 'magnetization']
    """

    name = "blume_capel2d"
    reference = "Kwak et al. 2015; Beale 1986; Malakis et al. 2010"
    phases = ("ferro", "para")
    algorithms = _ALGORITHMS

    def default_labeler(self) -> Any:
        """Ordered or not from the Binder cumulant of the magnetization (:class:`~phasemapper.labelers.OrderParameterLabeler`)."""
        from ..labelers import OrderParameterLabeler

        return OrderParameterLabeler(phases=self.phases)

    def default_space(self) -> Space:
        return Space([Axis("T", 0.2 * self.J, 2.2 * self.J), Axis("D", 0.0, 2.5 * self.J)])

    def critical_temperature(self, D: float | np.ndarray) -> np.ndarray:
        """Reference transition temperature at crystal field ``D`` (0 for ``D >= 2J``; ``D < 0`` extrapolates)."""
        D = np.asarray(D, dtype=float)
        from scipy.interpolate import (
            PchipInterpolator,  # here: 0.3 s of import that only this method needs
        )

        line = BLUME_CAPEL_TRANSITION_LINE
        tc = PchipInterpolator(line[:, 0] * self.J, line[:, 1] * self.J)
        return np.where(D >= 2.0 * self.J, 0.0, tc(np.clip(D, None, 2.0 * self.J), extrapolate=True))

    def reference_phase(self, points: Any) -> np.ndarray:
        """``ferro`` below the literature line Tc(D), ``para`` above."""
        pts = self.points(points)
        return np.where(pts[:, 0] < self.critical_temperature(pts[:, 1]), "ferro", "para")

    def reference_critical_points(self) -> list[CriticalPoint]:
        """The literature points of the line (``T`` at fixed ``D``) and the tricritical point."""
        line = BLUME_CAPEL_TRANSITION_LINE[:-1]
        out = [
            CriticalPoint("T", t * self.J, np.nan, "literature (see docstring)", at={"D": d * self.J}) for d, t in line
        ]
        d_t, t_t = BLUME_CAPEL_TRICRITICAL
        out.append(CriticalPoint("D", d_t * self.J, 1e-4, "tricritical: Kwak et al. 2015", at={"T": t_t * self.J}))
        return out

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        T, D = float(point[0]), float(point[1])
        init_seed, chain_seed = ss.spawn(2)
        chain = _BlumeCapelChain(self, T, D, new_state(chain_seed))
        rng = np.random.default_rng(init_seed)
        if T < self.critical_temperature(D):
            chain.config[:] = 1
        else:
            chain.config[:] = rng.integers(-1, 2, size=chain.config.shape)
        return self._run(chain, n_samples)


class _BlumeCapelChain(LatticeChain):
    observables = ("energy", "magnetization", "density")

    def __init__(self, system: BlumeCapel2D, T: float, D: float, state: np.ndarray) -> None:
        super().__init__(system.L * system.L, system.algorithm, local="heatbath")
        self.J, self.D, self.state = system.J, D, state
        self.config = np.zeros((system.L, system.L), dtype=np.int8)
        self.table = kernels.heatbath_table(T, system.J, D)
        self.p_thr = kernels.wolff_threshold(T, system.J)
        self.stack = np.empty(self.n, dtype=np.int64)

    def run_records(
        self, n_records: int, sweeps: int, clusters: int, configs: np.ndarray, values: np.ndarray, store: bool
    ) -> tuple[int, int]:
        return kernels.run_records(
            self.config,
            self.J,
            self.D,
            n_records,
            sweeps,
            clusters,
            self.table,
            self.p_thr,
            self.state,
            self.stack,
            configs,
            values,
            store,
        )

    def clusters(self, n: int) -> int:
        return kernels.wolff_clusters(self.config, n, self.p_thr, self.state, self.stack)


register_system("blume_capel2d", BlumeCapel2D)
