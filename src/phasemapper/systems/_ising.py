"""The 2-D Ising model on a periodic square lattice."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ..kernels import family
from ..kernels._rng import new_state
from ._base import register_system
from ._mcmc import ClusterStepCalibration, LatticeSystem, MarkovChain

kernels = family("ising")
multispin = family("multispin")

__all__ = ["Ising2D", "ONSAGER_TC"]

#: Exact critical temperature of the square-lattice Ising model, J = k_B = 1
#: (L. Onsager, Phys. Rev. 65, 117 (1944)): 2 / ln(1 + sqrt 2).
ONSAGER_TC = 2.0 / math.log(1.0 + math.sqrt(2.0))

_ALGORITHMS = ("auto", "metropolis", "wolff", "multispin")

#: ``algorithm="auto"`` at h = 0 uses Wolff for T / Tc in this window when L >= WOLFF_MIN_L, multi-spin
#: Metropolis elsewhere: where the wall time per 1000 independent samples of the two crosses on this package's
#: kernels (measured at L = 16, 32, 64, 128; at L = 16 multi-spin wins even at Tc)
WOLFF_WINDOW = (0.96, 1.08)
WOLFF_MIN_L = 24


class Ising2D(LatticeSystem):
    """Ferromagnetic Ising model ``H = -J sum_<ij> s_i s_j - h sum_i s_i`` on an L x L torus.

    Axes ``T`` (temperature, required) and ``h`` (field, optional, default 0).
    Phases ``ferro`` and ``para``; at ``h = 0`` they meet at Onsager's
    ``Tc = 2J / ln(1 + sqrt 2) ~ 2.269185 J`` (Phys. Rev. 65, 117 (1944)).

    Sampling thermalizes the chain, measures the integrated autocorrelation
    time of the energy and of ``|m|`` on a pilot run (Sokal's window), and then
    records one configuration every ``ceil(decorrelation * tau)`` steps (in a
    field the signed magnetization is watched too). A step
    is one checkerboard Metropolis sweep, or for Wolff the number of cluster
    updates that flips about ``L*L`` spins on average. ``algorithm="multispin"``
    runs 64 independent Metropolis replicas packed bitwise (``kernels.multispin``;
    one record yields 64 samples). ``algorithm="auto"`` at ``h = 0`` uses Wolff
    in the critical window ``0.96 <= T/Tc <= 1.08`` for ``L >= 24`` (where
    single-spin updates suffer critical slowing down) and multi-spin Metropolis
    elsewhere; in a field, the scalar Metropolis kernel. The window is where the
    wall time per independent sample of the two crosses (measured at L = 16-128).

    Parameters
    ----------
    L : int
        Linear size, ``L >= 2``.
    **lattice
        ``J``, ``algorithm`` (``"auto"``, ``"metropolis"``, ``"wolff"`` or ``"multispin"``; Wolff and
        multi-spin need ``h = 0``) and the sampling controls of :class:`LatticeSystem`.

    Examples
    --------
    >>> from phasemapper.systems import Ising2D
    >>> s = Ising2D(L=8).sample([2.0, 0.0], n_samples=10, seed=1)
    >>> s.configurations.shape, s.configurations.dtype.name
    ((10, 8, 8), 'int8')
    """

    name = "ising2d"
    reference = "Onsager 1944"
    phases = ("ferro", "para")
    optional_axes = {"h": 0.0}
    algorithms = _ALGORITHMS

    def __init__(self, *, L: int = 32, **lattice: Any) -> None:
        super().__init__(L=L, **lattice)

    def default_labeler(self) -> Any:
        """Ordered or not from the Binder cumulant of the magnetization (:class:`~phasemapper.labelers.OrderParameterLabeler`)."""
        from ..labelers import OrderParameterLabeler

        return OrderParameterLabeler(phases=self.phases)

    def default_space(self) -> Space:
        return Space([Axis("T", 1.0 * self.J, 4.0 * self.J), Axis("h", -1.0, 1.0)])

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        if self.algorithm in ("wolff", "multispin") and point[1] != 0:
            raise ValueError(f"axis 'h': algorithm={self.algorithm!r} needs h = 0, got {point[1]:g}")

    @property
    def critical_temperature(self) -> float:
        """Onsager's ``Tc`` for this coupling."""
        return ONSAGER_TC * self.J

    def algorithm_at(self, T: float, h: float) -> str:
        """The update algorithm used at ``(T, h)``."""
        if self.algorithm != "auto":
            return self.algorithm
        if h != 0:
            return "metropolis"
        low, high = WOLFF_WINDOW
        if self.L >= WOLFF_MIN_L and low <= T / self.critical_temperature <= high:
            return "wolff"
        return "multispin"

    def reference_phase(self, points: Any) -> np.ndarray:
        """``ferro`` below Onsager's Tc, ``para`` above (at ``h != 0`` this is a crossover)."""
        pts = self.points(points)
        return np.where(pts[:, 0] < self.critical_temperature, "ferro", "para")

    def _reference_changes(
        self, axis: str, line: dict[str, float], low: float, high: float
    ) -> list[tuple[float, str, str]]:
        """A transition only along ``T`` at ``h = 0``; in a field the change is a crossover."""
        if axis != "T" or line.get("h", self.optional_axes["h"]) != 0.0:
            return []
        return super()._reference_changes(axis, line, low, high)

    def reference_critical_points(self) -> list[CriticalPoint]:
        """Onsager's exact Tc at h = 0 (Phys. Rev. 65, 117 (1944))."""
        return [CriticalPoint("T", self.critical_temperature, 0.0, "exact: Onsager 1944", at={"h": 0.0})]

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        T, h = float(point[0]), float(point[1])
        init_seed, chain_seed = ss.spawn(2)
        algorithm = self.algorithm_at(T, h)
        chain_type = _MultispinChain if algorithm == "multispin" else _Chain
        chain = chain_type(self, T, h, algorithm, new_state(chain_seed))
        chain.initialise(np.random.default_rng(init_seed), ordered=T < self.critical_temperature)
        return self._run(chain, n_samples)


class _Chain(MarkovChain):
    """One Markov chain of an :class:`Ising2D` at fixed ``(T, h)``: state, RNG and work counters.

    The record loop runs inside the numba kernels (``run_metropolis``, ``run_wolff``).
    """

    # no random number is drawn between records, and a lattice's Wolff clusters follow one another
    # across records just as within one
    single_record_burn_in = True

    def __init__(self, system: Ising2D, T: float, h: float, algorithm: str, state: np.ndarray) -> None:
        self.L, self.J, self.T, self.h = system.L, system.J, T, h
        self.algorithm = algorithm
        self.state = state
        self.work = 0  # accepted flips (Metropolis) or flipped spins (Wolff, both lattices)
        self.attempts = 0  # attempted flips (Metropolis) or cluster pairs (Wolff)
        if algorithm == "metropolis":
            self.spins = np.empty((self.L, self.L), dtype=np.int8)
            self.table = kernels.metropolis_tables(T, self.J, h)
        else:  # two independent lattices grown together (kernels.run_wolff_pair); a step is a pair of clusters
            self.samples_per_record = 2
            # the pilot's autocorrelation is averaged over the two lattices (twice the data of one), so half
            # the minimum length estimates tau as well; it still runs until it spans PILOT_TAUS taus
            self.MIN_PILOT = MarkovChain.MIN_PILOT // 2
            self.spins = np.empty((2, self.L, self.L), dtype=np.int8)
            self.p_thr = kernels.wolff_threshold(T, self.J)
            self.stacks = np.empty((2, self.L * self.L), dtype=np.int64)
            self.neighbour_table = kernels.neighbour_table(self.L)
            self.step_calibration = ClusterStepCalibration(2 * self.L * self.L)
            self._scratch = np.empty((1, 2, self.L, self.L), dtype=np.int8)

    def initialise(self, rng: np.random.Generator, ordered: bool) -> None:
        if ordered:
            self.spins[:] = -1 if self.h < 0 else 1
        else:
            self.spins[:] = rng.choice(np.array([-1, 1], dtype=np.int8), size=self.spins.shape)
        self.calibrate()

    def calibrate(self) -> None:
        """Wolff: set the cluster pairs per step so that a step flips about ``L*L`` spins per lattice on average."""
        if self.algorithm != "wolff":
            return
        flipped, clusters = self.step_calibration.update(self.work, self.attempts, self._clusters)
        self.work, self.attempts = self.work + flipped, self.attempts + clusters

    def _clusters(self, n: int) -> int:
        return kernels.run_wolff_pair(
            self.spins,
            1,
            n,
            self.J,
            self.p_thr,
            self.state,
            self.stacks,
            self.neighbour_table,
            self._scratch,
            np.empty((1, 2)),
            np.empty((1, 2)),
            False,
        )

    @property
    def clusters_per_step(self) -> int:
        return self.step_calibration.per_step

    def advance(self, n_records: int, per_record: int, store: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run ``n_records`` blocks of ``per_record`` steps; per-site energy and magnetization.

        Wolff records hold both lattices (``2 * n_records`` samples); unstored (pilot)
        records report both lattices' series, ``(n_records, 2)``, as replicas of one chain.
        """
        n_sites = self.L * self.L
        if self.algorithm == "metropolis":
            configs = np.empty((n_records if store else 1, self.L, self.L), dtype=np.int8)
            energy, mag = np.empty(max(n_records, 1)), np.empty(max(n_records, 1))
            if n_records:
                self.work += kernels.run_metropolis(
                    self.spins,
                    n_records,
                    per_record,
                    self.J,
                    self.h,
                    self.table,
                    self.state,
                    configs,
                    energy,
                    mag,
                    store,
                )
                self.attempts += n_records * per_record * n_sites
            return configs[:n_records], {
                "energy": energy[:n_records] / n_sites,
                "magnetization": mag[:n_records] / n_sites,
            }
        clusters = per_record * self.clusters_per_step
        configs = np.empty((n_records if store else 1, 2, self.L, self.L), dtype=np.int8)
        energy, mag = np.empty((n_records, 2)), np.empty((n_records, 2))
        if n_records:
            self.work += kernels.run_wolff_pair(
                self.spins,
                n_records,
                clusters,
                self.J,
                self.p_thr,
                self.state,
                self.stacks,
                self.neighbour_table,
                configs,
                energy,
                mag,
                store,
            )
            self.attempts += n_records * clusters
        e, m = energy / n_sites, mag / n_sites
        if not store:
            return configs[:0, 0], {"energy": e, "magnetization": m}
        return configs.reshape(-1, self.L, self.L), {"energy": e.reshape(-1), "magnetization": m.reshape(-1)}

    def tau_series(self, observables: dict[str, np.ndarray]) -> list[np.ndarray]:
        # |m| at h = 0 (the sign is a symmetry); the signed m too in a field, where
        # tunnelling into the metastable direction is the slowest mode
        series = super().tau_series(observables)
        return series + ([observables["magnetization"]] if self.h != 0 else [])

    def sweeps_per_step(self) -> float:
        if self.algorithm == "metropolis":
            return 1.0
        return float(self.clusters_per_step * self.work / max(self.attempts, 1) / (2 * self.L * self.L))

    def acceptance_rate(self) -> float:
        if self.algorithm == "metropolis":
            return float(self.work / max(self.attempts, 1))
        return 1.0  # cluster updates are rejection-free


class _MultispinChain(MarkovChain):
    """64 independent Metropolis replicas packed bitwise (``kernels.multispin``), h = 0.

    Stored records yield all 64 replicas; pilot records report every replica's
    series, ``(n_records, 64)``, and tau comes from their averaged autocorrelation.
    """

    samples_per_record = 64
    single_record_burn_in = True  # the random global flip is drawn only before stored records
    # The pilot's autocorrelation is averaged over 64 replicas: its relative error,
    # sqrt(2 (2 M + 1) / (64 n)) with Sokal's window M ~ 5 tau, is 13% at n = 20 tau, where one chain
    # needs n ~ 1000 tau for that (and has 66% at the single-chain 50 tau). 20 tau keeps the window
    # (5 tau) well inside the run and, with the 200 steps before it, the burn-in above 20 tau.
    MIN_PILOT = 128
    PILOT_TAUS = 20

    def __init__(self, system: Ising2D, T: float, h: float, algorithm: str, state: np.ndarray) -> None:
        self.L, self.J = system.L, system.J
        self.algorithm = algorithm
        self.state = state
        self.words = np.zeros((self.L, self.L), dtype=np.uint64)
        self.p4, self.p8 = multispin.acceptance_bits(T, self.J)
        self.accepted = self.attempted = 0

    def initialise(self, rng: np.random.Generator, ordered: bool) -> None:
        if ordered:
            self.words[:] = np.uint64(0xFFFFFFFFFFFFFFFF)
        else:
            self.words[:] = rng.integers(0, 2**64, size=self.words.shape, dtype=np.uint64)

    def advance(self, n_records: int, per_record: int, store: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n_sites = self.L * self.L
        bonds = np.empty((n_records, 64), dtype=np.int64)
        mag = np.empty((n_records, 64), dtype=np.int64)
        stored = np.empty((n_records if store else 1, self.L, self.L), dtype=np.uint64)
        self.accepted += multispin.run_records(
            self.words, n_records, per_record, self.p4, self.p8, self.state, bonds, mag, stored, store
        )
        self.attempted += 64 * n_records * per_record * n_sites
        e, m = -self.J * bonds / n_sites, mag / n_sites
        if not store:  # pilot: every replica's series (time first), for the averaged autocorrelation
            return np.empty((0, self.L, self.L), dtype=np.int8), {"energy": e, "magnetization": m}
        configs = multispin.unpack(stored)  # (64 n_records, L, L), record-major as the records are
        return configs, {"energy": e.reshape(-1), "magnetization": m.reshape(-1)}

    def acceptance_rate(self) -> float:
        return float(self.accepted / max(self.attempted, 1))


register_system("ising2d", Ising2D)
