"""The Hopfield network with random patterns under Glauber dynamics."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .._checks import check_finite, check_positive_int
from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import System, bisect_change, register_system

kernels = family("hopfield")

__all__ = ["Hopfield", "ags_retrieval_temperature", "ags_retrieval_overlap"]

_Z, _W = np.polynomial.hermite_e.hermegauss(80)  # Gauss-Hermite nodes for a standard normal z
_W = _W / _W.sum()


def ags_retrieval_overlap(alpha: float, T: float, iterations: int = 3000) -> float:
    """Overlap ``m`` of the replica-symmetric retrieval state of Amit, Gutfreund & Sompolinsky.

    Solves ``m = <tanh b(m + sqrt(alpha r) z)>``, ``q = <tanh^2 ...>``,
    ``r = q / (1 - b (1 - q))^2`` (at ``T = 0``: ``m = erf(m / sqrt(2 alpha r))``,
    ``r = 1 / (1 - C)^2``, ``C = sqrt(2 / (pi alpha r)) exp(-m^2 / (2 alpha r))``) by damped
    iteration from ``m = q = 1``; returns 0 where no retrieval solution exists.
    D. J. Amit, H. Gutfreund and H. Sompolinsky, Ann. Phys. 173, 30 (1987).
    """
    m, q, r = 1.0, 1.0, 1.0
    for _ in range(iterations):
        if T == 0:
            arg = m / math.sqrt(2 * alpha * r)
            C = math.sqrt(2 / (math.pi * alpha * r)) * math.exp(-(arg**2))
            if C >= 1:
                return 0.0
            r = 1.0 / (1.0 - C) ** 2
            m_new, q = math.erf(m / math.sqrt(2 * alpha * r)), 1.0
        else:
            b = 1.0 / T
            denom = 1.0 - b * (1.0 - q)
            if denom <= 0:
                return 0.0
            r = q / denom**2
            t = np.tanh(b * (m + math.sqrt(alpha * r) * _Z))
            m_new, q = float(_W @ t), float(_W @ t**2)
        if abs(m_new - m) < 1e-12:
            m = m_new
            break
        m = 0.5 * (m + m_new)
    return m if m > 0.2 else 0.0


@functools.lru_cache(maxsize=512)
def ags_retrieval_temperature(alpha: float) -> float:
    """Temperature below which retrieval states exist, ``T_M(alpha)`` (AGS 1987); 0 beyond ``alpha_c ~ 0.138``."""
    if alpha <= 0:
        return 1.0
    if ags_retrieval_overlap(alpha, 0.0) == 0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ags_retrieval_overlap(alpha, mid) > 0 else (lo, mid)
    return lo


class Hopfield(System):
    """Hopfield network of ``N`` neurons storing ``p = round(alpha N)`` random patterns (Hebb rule).

    Axes ``alpha`` (patterns per neuron) and ``T``. Phases ``retrieval``,
    ``spin_glass`` and ``para`` after Amit, Gutfreund & Sompolinsky (Ann.
    Phys. 173, 30 (1987)): retrieval states exist below ``T_M(alpha)`` (replica
    symmetric, :func:`ags_retrieval_temperature`; ``alpha_c ~ 0.138`` at
    ``T = 0``), the spin glass lies below ``T_g = 1 + sqrt(alpha)``, the
    paramagnet above.

    Each sample draws fresh patterns (disorder average), starts at pattern 1
    with a fraction of neurons flipped (overlap ``initial_overlap``), runs
    ``relax_sweeps`` sweeps of Glauber dynamics at temperature ``T`` (``T = 0``:
    zero-temperature dynamics) and then ``measure_sweeps`` more, over which it
    averages. Observables: ``overlap`` with pattern 1 and ``overlap2`` (its
    square), ``q`` (Edwards-Anderson parameter from the time-averaged spins)
    and ``energy`` per neuron; the configuration is the final state.

    Examples
    --------
    >>> from phasemapper.systems import Hopfield
    >>> s = Hopfield(N=100).sample([0.05, 0.2], n_samples=3, seed=0)
    >>> bool(s.observables["overlap"].mean() > 0.9)
    True
    """

    name = "hopfield"
    reference = "Amit, Gutfreund & Sompolinsky 1987"
    phases = ("retrieval", "spin_glass", "para")
    site_dims = ("neuron",)
    size_param = "N"

    def __init__(
        self, *, N: int = 200, relax_sweeps: int = 50, measure_sweeps: int = 50, initial_overlap: float = 0.95
    ) -> None:
        self.N = check_positive_int("N", N, minimum=2)
        self.relax_sweeps = check_positive_int("relax_sweeps", relax_sweeps, minimum=0)
        self.measure_sweeps = check_positive_int("measure_sweeps", measure_sweeps)
        self.initial_overlap = check_finite("initial_overlap", initial_overlap)
        if not -1 <= self.initial_overlap <= 1:
            raise ValueError(f"initial_overlap must be in [-1, 1], got {initial_overlap}")
        self.space = Space([Axis("alpha", 0.01, 0.3), Axis("T", 0.0, 1.6)])

    def default_labeler(self) -> Any:
        """Retrieval, spin glass or paramagnet from the overlaps (:class:`~phasemapper.labelers.HopfieldLabeler`)."""
        from ..labelers import HopfieldLabeler

        return HopfieldLabeler()

    def site_shape(self) -> tuple[int, ...]:
        return (self.N,)

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        if point[0] <= 0:
            raise ValueError(f"axis 'alpha': patterns per neuron must be > 0, got {point[0]:g}")
        if point[1] < 0:
            raise ValueError(f"axis 'T': temperature must be >= 0, got {point[1]:g}")

    def n_patterns(self, alpha: float) -> int:
        return max(1, int(round(alpha * self.N)))

    def patterns(self, alpha: float, seed: np.random.SeedSequence) -> np.ndarray:
        """The ``(N, p)`` +-1 patterns a sample with this seed uses."""
        rng = np.random.default_rng(seed)
        return rng.choice(np.array([-1.0, 1.0]), size=(self.N, self.n_patterns(alpha)))

    def couplings(self, xi: np.ndarray) -> np.ndarray:
        """Hebb couplings ``W = xi xi^T / N`` with zero diagonal."""
        W = xi @ xi.T / self.N
        np.fill_diagonal(W, 0.0)
        return W

    def reference_phase(self, points: Any) -> np.ndarray:
        pts = self.points(points)
        out = []
        for alpha, T in pts:
            if T < ags_retrieval_temperature(round(float(alpha), 4)):
                out.append("retrieval")
            elif T < 1.0 + math.sqrt(alpha):
                out.append("spin_glass")
            else:
                out.append("para")
        return np.array(out)

    def _reference_changes(
        self, axis: str, line: dict[str, float], low: float, high: float
    ) -> list[tuple[float, str, str]]:
        """Along ``alpha`` at fixed ``T`` the lines are solved for directly (one AGS solve per bisection step,
        not one retrieval temperature per alpha): ``alpha_g = (T - 1)^2`` and ``alpha_M(T)``."""
        if axis != "alpha":
            return super()._reference_changes(axis, line, low, high)
        T = line["T"]
        out = []
        if T < 1.0 and ags_retrieval_overlap(low, T) > 0 and ags_retrieval_overlap(high, T) == 0:
            alpha_m = bisect_change(lambda alpha: ags_retrieval_overlap(alpha, T) > 0, low, high, 1e-9 * (high - low))
            out.append((alpha_m, "retrieval", "spin_glass"))
        if T > 1.0 and low < (T - 1.0) ** 2 < high:
            out.append(((T - 1.0) ** 2, "para", "spin_glass"))
        return out

    def reference_critical_points(self) -> list[CriticalPoint]:
        """AGS: ``alpha_c(T=0) ~ 0.138`` and ``T_g = 1 + sqrt(alpha)`` (shown at alpha = 0.1)."""
        return [
            CriticalPoint("alpha", 0.138, 0.001, "AGS 1987 (retrieval, T=0)", at={"T": 0.0}),
            CriticalPoint(
                "T", 1.0 + math.sqrt(0.1), 0.0, "AGS 1987 (spin glass, T_g = 1 + sqrt(alpha))", at={"alpha": 0.1}
            ),
        ]

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        alpha, T = float(point[0]), float(point[1])
        beta = math.inf if T == 0 else 1.0 / T
        configs = np.empty((n_samples, self.N), dtype=np.int8)
        obs = {k: np.empty(n_samples) for k in ("overlap", "overlap2", "q", "energy")}
        table, h_max = kernels.heatbath_thresholds(beta, self.N, self.n_patterns(alpha))
        for k, child in enumerate(ss.spawn(n_samples)):
            pattern_seed, init_seed, chain_seed = child.spawn(3)
            xi = self.patterns(alpha, pattern_seed).astype(np.int8)
            rng = np.random.default_rng(init_seed)
            spins = xi[:, 0].copy()
            spins[rng.random(self.N) < (1.0 - self.initial_overlap) / 2] *= -1
            overlaps = xi.T.astype(np.int64) @ spins
            state = new_state(chain_seed)
            sum_s, sums = np.zeros(self.N), np.zeros(3)
            kernels.glauber_sweeps(spins, xi, overlaps, table, h_max, self.relax_sweeps, state, sum_s, sums)
            sum_s[:], sums[:] = 0.0, 0.0
            kernels.glauber_sweeps(spins, xi, overlaps, table, h_max, self.measure_sweeps, state, sum_s, sums)
            configs[k] = spins
            mean_s = sum_s / self.measure_sweeps
            obs["overlap"][k], obs["overlap2"][k], obs["energy"][k] = sums / self.measure_sweeps
            obs["q"][k] = float(mean_s @ mean_s) / self.N
        return Samples(configs, obs, metadata={"patterns": self.n_patterns(alpha)})


register_system("hopfield", Hopfield)
