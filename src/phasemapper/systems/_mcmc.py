"""Shared Markov-chain machinery: thermalization, pilot autocorrelation time, spaced sampling.

Every Monte Carlo system owns a chain object (a subclass of :class:`MarkovChain`)
that knows how to advance its state; this module decides how long to run it.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from .._checks import check_choice, check_finite, check_positive_int
from .._space import Space
from .._stats import integrated_autocorrelation_time
from .._types import Samples
from ._base import System

__all__ = ["MarkovChain", "LatticeChain", "MonteCarloSystem", "LatticeSystem", "ClusterStepCalibration"]


class ClusterStepCalibration:
    """How many cluster updates make one step, so that a step flips about ``n_sites`` sites.

    ``update`` uses the clusters grown since its previous call (the chain's own
    thermalization work), so recalibrating costs no extra updates; only the first
    call grows clusters, doubling their number until about one sweep has flipped.
    """

    def __init__(self, n_sites: int, max_per_step: int | None = None) -> None:
        self.n_sites = n_sites
        self.max_per_step = max_per_step
        self.per_step = 1
        self._mark: tuple[int, int] | None = None

    def update(self, flipped_total: int, clusters_total: int, grow: Callable[[int], int]) -> tuple[int, int]:
        """Recalibrate from the totals so far; ``grow(n)`` runs ``n`` clusters and returns the sites flipped.

        Returns the (flipped, clusters) this call grew itself, for the chain's counters.
        """
        own_flipped = own_clusters = 0
        if self._mark is None:
            n = 1
            while own_flipped < self.n_sites and own_clusters < 64 * self.n_sites:
                own_flipped += grow(n)
                own_clusters += n
                n *= 2
            flipped, clusters = own_flipped, own_clusters
        else:
            flipped, clusters = flipped_total - self._mark[0], clusters_total - self._mark[1]
        if clusters > 0:
            per_step = max(1, round(self.n_sites * clusters / max(flipped, 1)))
            self.per_step = min(per_step, self.max_per_step) if self.max_per_step else per_step
        self._mark = (flipped_total + own_flipped, clusters_total + own_clusters)
        return own_flipped, own_clusters


class MarkovChain(ABC):
    """A chain at one point. ``advance`` runs blocks of steps and records per-site observables."""

    MIN_PILOT = 512
    MAX_PILOT = 16_384
    PILOT_TAUS = 50  # pilot length in units of tau for a reliable Sokal window

    algorithm: str = ""
    pilot_steps: int = 0
    #: independent samples one stored record yields (64 for multi-spin coded replicas)
    samples_per_record: int = 1
    #: True where ``advance(1, k)`` runs exactly the updates of ``advance(k, 1)`` (the same random stream,
    #: one measurement instead of k): thermalization then skips the measurements it would discard
    single_record_burn_in: bool = False

    @abstractmethod
    def advance(self, n_records: int, per_record: int, store: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Run ``n_records`` blocks of ``per_record`` steps; return configurations (if ``store``) and observables."""

    def calibrate(self) -> None:  # noqa: B027 - a hook: most chains have nothing to re-tune
        """Re-tune the definition of a step (cluster algorithms); called during thermalization."""

    def tau_series(self, observables: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Series whose autocorrelation sets the spacing (default: energy and |order parameter|)."""
        return [observables["energy"], np.abs(observables["magnetization"])]

    def acceptance_rate(self) -> float:
        return 1.0

    def sweeps_per_step(self) -> float:
        return 1.0

    def thermalize(self, n_steps: int, chunk: int = 10) -> None:
        """Discard ``n_steps`` steps, recalibrating after every chunk (cluster sizes grow while
        a random start equilibrates)."""
        done = 0
        while done < n_steps:
            k = min(chunk, n_steps - done)
            if self.single_record_burn_in:
                self.advance(1, k, store=False)
            else:
                self.advance(k, 1, store=False)
            self.calibrate()
            done += k

    def pilot(self) -> float:
        """Run single steps until the run spans ``PILOT_TAUS`` autocorrelation times; return tau (steps)."""
        records: list[dict[str, np.ndarray]] = []
        n = self.MIN_PILOT
        while True:
            _, obs = self.advance(n - self.pilot_steps, 1, store=False)
            records.append(obs)
            self.pilot_steps = n
            joined = {k: np.concatenate([r[k] for r in records]) for k in records[0]}
            tau = max(integrated_autocorrelation_time(s) for s in self.tau_series(joined))
            if n >= self.PILOT_TAUS * tau or n >= self.MAX_PILOT:
                return tau
            n = min(2 * n, self.MAX_PILOT)


def sample_chain(
    chain: MarkovChain, n_samples: int, thermalization: int, decorrelation: float, max_spacing: int
) -> Samples:
    """Thermalize, measure tau on a pilot, then record ``n_samples`` spaced by ``ceil(decorrelation * tau)``."""
    chain.thermalize(thermalization)
    tau = chain.pilot()
    spacing = int(min(max_spacing, math.ceil(decorrelation * tau)))
    n_records = -(-n_samples // chain.samples_per_record)
    configs, observables = chain.advance(n_records, spacing, store=True)
    return Samples(
        configurations=configs[:n_samples],
        observables={k: v[:n_samples] for k, v in observables.items()},
        metadata={
            "algorithm": chain.algorithm,
            "autocorrelation_time": tau,
            "steps_between_samples": spacing,
            "sweeps_per_step": chain.sweeps_per_step(),
            "thermalization_steps": thermalization + chain.pilot_steps,
            "acceptance_rate": chain.acceptance_rate(),
        },
    )


class LatticeChain(MarkovChain):
    """A chain whose step is some local sweeps and/or cluster updates flipping ~N sites.

    Subclasses hold the state in ``self.config``, name their per-site
    ``observables`` and implement ``run_records`` (the kernel family's record
    loop, so no Python runs between records) and ``clusters`` (if
    ``use_clusters``; the step calibration grows clusters through it).
    """

    #: cap on the clusters of one step, per site (seeds on empty sites of a diluted lattice flip nothing)
    MAX_CLUSTERS_PER_STEP_PER_SITE = 4
    #: the per-site observables ``run_records`` writes, in its column order
    observables: tuple[str, ...] = ()

    def __init__(self, n_sites: int, algorithm: str, local: str) -> None:
        """``algorithm`` is the system's: ``local`` (the local sweep's name), ``"wolff"``, or ``"auto"`` for both."""
        self.n = n_sites
        self.use_local, self.use_clusters = algorithm in ("auto", local), algorithm in ("auto", "wolff")
        self.algorithm = f"{local}+wolff" if algorithm == "auto" else algorithm
        self.step_calibration = ClusterStepCalibration(n_sites, self.MAX_CLUSTERS_PER_STEP_PER_SITE * n_sites)
        self.accepted = self.attempted = 0
        self.flipped = self.cluster_count = 0
        self.pilot_steps = 0
        self.config: np.ndarray

    @abstractmethod
    def run_records(
        self, n_records: int, sweeps: int, clusters: int, configs: np.ndarray, values: np.ndarray, store: bool
    ) -> tuple[int, int]:
        """Per record: ``sweeps`` local sweeps, ``clusters`` cluster updates, the observables into ``values[k]``
        and, if ``store``, the configuration into ``configs[k]``. Returns (accepted local moves, flipped sites)."""

    def clusters(self, n: int) -> int:
        """``n`` cluster updates; return the number of sites flipped."""
        raise NotImplementedError

    @property
    def clusters_per_step(self) -> int:
        return self.step_calibration.per_step

    def calibrate(self) -> None:
        if not self.use_clusters:
            return
        flipped, count = self.step_calibration.update(self.flipped, self.cluster_count, self.clusters)
        self.flipped += flipped
        self.cluster_count += count

    def advance(self, n_records: int, per_record: int, store: bool) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        configs = np.empty((n_records if store else 0, *self.config.shape), dtype=self.config.dtype)
        values = np.empty((n_records, len(self.observables)))
        sweeps = per_record if self.use_local else 0
        clusters = per_record * self.clusters_per_step if self.use_clusters else 0
        accepted, flipped = self.run_records(n_records, sweeps, clusters, configs, values, store)
        self.accepted += accepted
        self.attempted += n_records * sweeps * self.n
        self.flipped += flipped
        self.cluster_count += n_records * clusters
        return configs, {name: values[:, i] for i, name in enumerate(self.observables)}

    def acceptance_rate(self) -> float:
        return float(self.accepted / self.attempted) if self.attempted else 1.0

    def sweeps_per_step(self) -> float:
        local = 1.0 if self.use_local else 0.0
        if not self.use_clusters or not self.cluster_count:
            return local
        return local + self.clusters_per_step * self.flipped / self.cluster_count / self.n


class MonteCarloSystem(System):
    """A System sampled by a Markov chain: validates and stores the sampling controls."""

    #: the linear size of the lattice
    L: int

    def site_shape(self) -> tuple[int, ...]:
        return (self.L, self.L)

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        if "T" in self.space.names:
            T = point[self.space.names.index("T")]
            if T <= 0:
                raise ValueError(f"axis 'T': temperature must be > 0, got {T:g}")

    def _init_sampling(self, decorrelation: float, thermalization: int, max_spacing: int) -> None:
        self.decorrelation = check_finite("decorrelation", decorrelation)
        if self.decorrelation <= 0:
            raise ValueError(f"decorrelation must be > 0, got {decorrelation}")
        self.thermalization = check_positive_int("thermalization", thermalization, minimum=0)
        self.max_spacing = check_positive_int("max_spacing", max_spacing)

    def _run(self, chain: MarkovChain, n_samples: int) -> Samples:
        return sample_chain(chain, n_samples, self.thermalization, self.decorrelation, self.max_spacing)


class LatticeSystem(MonteCarloSystem):
    """A ferromagnet on an L x L torus with coupling ``J > 0``, sampled by one of its ``algorithms``.

    The constructor validates and stores the lattice, the coupling, the algorithm and the sampling controls
    (``decorrelation``, ``thermalization``, ``max_spacing``: see :class:`~phasemapper.systems.Ising2D`) and
    sets ``space`` from :meth:`default_space`. A model adds its own parameters in its own ``__init__``
    (keyword-only, passing ``**lattice`` on) and changes a default by naming it there (``L: int = 32``).

    Parameters
    ----------
    L : int
        Linear size, ``L >= 2``.
    J : float
        Coupling, ``J > 0``.
    algorithm : str
        One of the model's ``algorithms``.
    decorrelation : float
        Samples are spaced by ``decorrelation`` integrated autocorrelation times.
    thermalization : int
        Steps discarded before the pilot run (the pilot is discarded too).
    max_spacing : int
        Upper bound on the steps between two recorded samples.
    """

    #: the update algorithms this model offers (``"auto"`` first)
    algorithms: tuple[str, ...] = ("auto",)
    site_dims = ("y", "x")
    size_param = "L"

    def __init__(
        self,
        *,
        L: int = 16,
        J: float = 1.0,
        algorithm: str = "auto",
        decorrelation: float = 2.0,
        thermalization: int = 200,
        max_spacing: int = 10_000,
    ) -> None:
        self.L = check_positive_int("L", L, minimum=2)
        self.J = check_finite("J", J)
        if self.J <= 0:
            raise ValueError(f"J must be > 0 (ferromagnet), got {J}")
        self.algorithm = check_choice("algorithm", algorithm, self.algorithms)
        self._init_sampling(decorrelation, thermalization, max_spacing)
        self.space = self.default_space()

    @abstractmethod
    def default_space(self) -> Space:
        """The axes and their default bounds for mapping (they may depend on ``J`` and the model's parameters)."""
