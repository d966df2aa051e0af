"""The 2-D XY model on a periodic square lattice."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import register_system
from ._mcmc import LatticeChain, LatticeSystem

kernels = family("xy")

__all__ = ["XY2D", "XY_T_BKT"]

#: Berezinskii-Kosterlitz-Thouless temperature of the square-lattice XY model, J = 1:
#: 0.8929(1), M. Hasenbusch, J. Phys. A 38, 5869 (2005); 0.89289(5), Y. Komura and
#: Y. Okabe, J. Phys. Soc. Jpn. 81, 113001 (2012).
XY_T_BKT = 0.8929

_ALGORITHMS = ("auto", "metropolis", "wolff")


class XY2D(LatticeSystem):
    """XY model ``H = -J sum_<ij> cos(theta_i - theta_j)`` on an L x L torus (angles in [0, 2 pi)).

    Axis ``T``. Phases ``quasi_ordered`` (below ``T_BKT``) and ``disordered``;
    ``T_BKT ~ 0.8929 J`` (Hasenbusch 2005; Komura & Okabe 2012). At ``T_BKT``
    the helicity modulus jumps from ``2 T / pi`` to 0 (Nelson & Kosterlitz 1977).

    Updates: checkerboard Metropolis (proposal width ``min(pi, 2 T / J)``,
    wide enough at high T, accepting ~50% near T_BKT) and Wolff's embedding
    cluster algorithm; ``algorithm="auto"`` does both every step.
    Configurations are float32 angles; observables per site: ``energy``,
    ``magnetization`` (``|sum s| / N``) and ``helicity`` (per-sample estimator
    whose mean is the helicity modulus).

    Examples
    --------
    >>> from phasemapper.systems import XY2D
    >>> s = XY2D(L=8).sample([0.5], n_samples=5, seed=0)
    >>> s.configurations.dtype.name
    'float32'
    """

    name = "xy2d"
    reference = "Hasenbusch 2005; Komura & Okabe 2012"
    phases = ("quasi_ordered", "disordered")
    algorithms = _ALGORITHMS
    config_dtype = np.float32

    def default_space(self) -> Space:
        return Space([Axis("T", 0.3 * self.J, 1.5 * self.J)])

    def reference_phase(self, points: Any) -> np.ndarray:
        pts = self.points(points)
        return np.where(pts[:, 0] < XY_T_BKT * self.J, "quasi_ordered", "disordered")

    def reference_critical_points(self) -> list[CriticalPoint]:
        return [
            CriticalPoint("T", XY_T_BKT * self.J, 1e-4 * self.J, "literature: Hasenbusch 2005, Komura & Okabe 2012")
        ]

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        T = float(point[0])
        init_seed, chain_seed = ss.spawn(2)
        chain = _XYChain(self, T, new_state(chain_seed))
        rng = np.random.default_rng(init_seed)
        if T < XY_T_BKT * self.J:
            chain.config[:] = 0.0
        else:
            chain.config[:] = rng.uniform(0.0, 2 * math.pi, size=chain.config.shape)
        samples = self._run(chain, n_samples)
        samples.configurations = samples.configurations.astype(np.float32)
        return samples


class _XYChain(LatticeChain):
    observables = ("energy", "magnetization", "helicity")

    def __init__(self, system: XY2D, T: float, state: np.ndarray) -> None:
        super().__init__(system.L * system.L, system.algorithm, local="metropolis")
        self.J, self.beta, self.state = system.J, 1.0 / T, state
        self.delta = min(math.pi, 2.0 * T / system.J)
        self.config = np.zeros((system.L, system.L), dtype=np.float64)
        self.stack = np.empty(2 * self.n, dtype=np.int64)
        self.in_cluster = np.zeros(self.n, dtype=np.bool_)
        self.work = np.empty((2, system.L, system.L))

    def run_records(
        self, n_records: int, sweeps: int, clusters: int, configs: np.ndarray, values: np.ndarray, store: bool
    ) -> tuple[int, int]:
        return kernels.run_records(
            self.config,
            self.J,
            self.beta,
            n_records,
            sweeps,
            clusters,
            self.delta,
            self.state,
            self.stack,
            self.in_cluster,
            self.work,
            configs,
            values,
            store,
        )

    def clusters(self, n: int) -> int:
        kernels.fill_components(self.config, self.work)
        return kernels.wolff_clusters(
            self.config, n, self.beta, self.J, self.state, self.stack, self.in_cluster, self.work
        )


register_system("xy2d", XY2D)
