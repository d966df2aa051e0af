"""Evaluate a system at many points: the ``scan`` function."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor
from contextlib import nullcontext
from typing import Any, cast

import numpy as np
import xarray as xr

from ._bits import PackedSites, pack_sites
from ._checkpoint import ScanCheckpoint
from ._checks import check_memory, check_positive_int, check_positive_number, check_seed
from ._executors import (
    SerialExecutor,
    check_executor,
    check_timeout_executor,
    default_executor,
)
from ._failures import EvaluationError, Failure, warn_failures
from ._provenance import provenance_attrs
from ._scheduler import Call, Scheduler, broken_executor_note
from ._types import Samples
from .progress import ProgressBar
from .systems._base import System

__all__ = ["scan", "scan_sizes", "samples_to_dataset"]

#: A scan whose first this many points (all of them, if fewer) all fail for good, with none succeeding, stops
FIRST_BATCH = 8


def _sample_point(
    system: System, point: np.ndarray, n_samples: int, seed: np.random.SeedSequence, pack: bool = False
) -> tuple[np.ndarray | PackedSites, dict[str, np.ndarray], dict[str, Any]]:
    """One point's samples as ``(configurations, observables, metadata)``; with ``pack``, two-valued
    configurations as bits (for a worker process: eight times less to send back)."""
    s = system.sample(point, n_samples, seed)
    return (pack_sites(s.configurations) if pack else s.configurations), s.observables, s.metadata


def scan(
    system: System,
    points: Any,
    n_samples: int,
    seed: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    max_attempts: int = 3,
    timeout: float | None = None,
) -> xr.Dataset:
    """Sample ``system`` at each of ``points`` and return one ``xarray.Dataset``.

    Point ``i`` draws from ``SeedSequence(seed).spawn(n)[i]``, so the result
    does not depend on the executor or on the order the points finish in.

    Parameters
    ----------
    system : System
        What to evaluate.
    points : array (n, ndim) or mapping
        Points in user units, or a dict of equal-length arrays keyed by axis
        name; optional axes (e.g. the Ising field ``h``) may be omitted.
    n_samples : int
        Samples per point.
    seed : int, optional
        Root seed; ``None`` draws one and records it in ``attrs["seed"]``.
    executor : concurrent.futures.Executor, optional
        Where to run the points (default: a process pool, one worker per core;
        :class:`phasemapper.SerialExecutor` runs them in this process).
    progress : bool
        Show a Rich progress bar.
    checkpoint : str or os.PathLike, optional
        A directory where each finished point is stored as it arrives. Calling
        again with the same directory and arguments (after a crash or a kill)
        samples only the points not yet stored, and returns the Dataset an
        uninterrupted scan returns. Another scan's checkpoint raises ``ValueError``;
        so does a checkpoint without an explicit ``seed``.
    max_attempts : int
        Attempts per point before it has failed for good (each with the point's own seed).
    timeout : float, optional
        Seconds one point may take before the attempt counts as failed.

    Notes
    -----
    A point that fails (raises, outlives ``timeout``, or kills its worker) is tried again, up to
    ``max_attempts`` times; the other points go on meanwhile. A point that failed for good is left
    out of the Dataset and listed in ``attrs["failures"]`` (JSON; :func:`phasemapper.failures` reads
    it as a table), and a :class:`phasemapper.PhaseMapperWarning` says how many failed and the most
    common error. When the first points to finish (8, or all if fewer) all failed for good, the
    scan stops with :class:`phasemapper.EvaluationError`, which shows each distinct error with
    its count and the first point that raised it. On the default pool a worker that dies fails
    every call running beside it; those run again on fresh workers without counting an attempt,
    and only the call that kills its worker alone is charged (``attrs["worker_restarts"]``).

    Returns
    -------
    xarray.Dataset
        dims ``point``, ``sample`` and the system's site dims; one coordinate
        per axis on ``point``; data variables ``configuration`` and one per
        observable (``energy``, ``magnetization``, ... per site); sampling
        metadata as per-point variables; provenance in ``attrs``.

    Examples
    --------
    >>> from phasemapper import scan, SerialExecutor
    >>> from phasemapper.systems import Ising2D
    >>> ds = scan(Ising2D(L=8), {"T": [2.0, 3.0]}, n_samples=20, seed=0,
    ...           executor=SerialExecutor(), progress=False)
    >>> ds.configuration.shape
    (2, 20, 8, 8)
    """
    return scan_sizes(
        [system],
        points,
        n_samples,
        seed=seed,
        executor=executor,
        progress=progress,
        checkpoint=checkpoint,
        max_attempts=max_attempts,
        timeout=timeout,
    )[0]


def scan_sizes(
    systems: list[System],
    points: Any,
    n_samples: int,
    seed: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    while_sampling: Callable[[], object] | None = None,
    checkpoint: str | os.PathLike | None = None,
    max_attempts: int = 3,
    timeout: float | None = None,
) -> list[xr.Dataset]:
    """:func:`scan` several systems (e.g. one per lattice size) over the same points in one pool.

    Every point of every system is submitted at once, the largest system first, so
    the cheap points fill the pool's tail instead of each system draining it in
    turn. Each system's Dataset is identical to ``scan(system, ...)`` with the same
    arguments (point ``i`` draws from ``SeedSequence(seed).spawn(n)[i]``); its
    ``wall_time_s`` is the time until that system's last point arrived.
    ``while_sampling``, if given, is called once in this process once the pool's workers are
    started (not at all when the checkpoint holds every point), while they sample: the place
    to import what the analysis after the scan needs. ``checkpoint``, ``max_attempts`` and
    ``timeout`` are as in :func:`scan`: a killed multi-size scan resumes with the points it had
    finished.

    Examples
    --------
    >>> from phasemapper import SerialExecutor, scan_sizes
    >>> from phasemapper.systems import Ising2D
    >>> [ds.configuration.shape for ds in scan_sizes([Ising2D(L=4), Ising2D(L=6)], {"T": [2.0, 3.0]}, 5,
    ...                                               seed=0, executor=SerialExecutor(), progress=False)]
    [(2, 5, 4, 4), (2, 5, 6, 6)]
    """
    for system in systems:
        if not isinstance(system, System):
            raise TypeError(f"system must be a phasemapper System, got {type(system).__name__}")
    pts = [system.points(points) for system in systems]
    n_samples = check_positive_int("n_samples", n_samples)
    if seed is None:
        if checkpoint is not None:
            raise ValueError("seed: a checkpoint needs an explicit seed (a resumed scan must draw the same numbers)")
        seed = int(cast(int, np.random.SeedSequence().entropy) % (2**63))  # entropy drawn from the OS: an int
    seed = check_seed("seed", seed)
    max_attempts = check_positive_int("max_attempts", max_attempts)
    timeout = check_positive_number("timeout", timeout, " of seconds")
    order = sorted(range(len(systems)), key=lambda k: -(systems[k].size() or 0))  # largest first

    check_executor(executor)
    check_timeout_executor(timeout, executor)
    for system, p in zip(systems, pts):
        check_memory(
            f"the scan of {system.name} {_size_label(system)}".strip(),
            len(p),
            n_samples,
            int(np.prod(system.site_shape())),
        )
    store = (
        None
        if checkpoint is None
        else ScanCheckpoint(checkpoint, ScanCheckpoint.spec_of(systems, pts, n_samples, seed))
    )
    with nullcontext() if store is None else store.exclusive():  # one scan at a time writes a checkpoint
        return _scan_held(
            systems, pts, n_samples, seed, executor, progress, while_sampling, store, order, max_attempts, timeout
        )


def _scan_held(
    systems: list[System],
    pts: list[np.ndarray],
    n_samples: int,
    seed: int,
    executor: Executor | None,
    progress: bool,
    while_sampling: Callable[[], object] | None,
    store: ScanCheckpoint | None,
    order: list[int],
    max_attempts: int,
    timeout: float | None,
) -> list[xr.Dataset]:
    """:func:`scan_sizes` once its arguments are checked and its checkpoint, if any, is held."""
    started = time.perf_counter()
    assemblers = [_DatasetAssembler(system, p) for system, p in zip(systems, pts)]
    done: list[set[int]] = []
    for k, assembler in enumerate(assemblers):
        readable = {} if store is None else store.read_done(k)
        for i, point in readable.items():
            assembler.add(i, *point)
        done.append(set(readable))
    resumed = [len(d) for d in done]
    pack = not isinstance(executor, SerialExecutor)  # another process (the default pool too): two values as bits
    calls = []
    for k in order:
        children = np.random.SeedSequence(seed).spawn(len(pts[k]))
        size_param, size = systems[k].size_param, systems[k].size()
        where: dict[str, float] = {} if size_param is None or size is None else {size_param: size}
        calls += [
            Call((k, i), _sample_point, (systems[k], p, n_samples, c, pack), {**where, **_named(systems[k], p)})
            for i, (p, c) in enumerate(zip(pts[k], children))
            if i not in done[k]
        ]
    failures: list[list[Failure]] = [[] for _ in systems]
    n_total = sum(len(p) for p in pts)
    restarts = 0
    if calls:
        label = " ".join(f"{systems[k].name} {_size_label(systems[k])}".strip() for k in order)
        own_executor = executor is None
        pool = default_executor(max_workers=min(len(calls), _cpu_count())) if executor is None else executor
        scheduler = Scheduler(pool, max_attempts=max_attempts, timeout=timeout)
        first_batch = min(len(calls), FIRST_BATCH)

        def succeeded() -> bool:
            return any(len(d) > r for d, r in zip(done, resumed))

        def on_success(call: Call, result: tuple, seconds: float) -> None:
            k, i = call.key
            if store is not None:  # on disk first: a kill from here on loses nothing
                store.write(k, i, *result)
            assemblers[k].add(i, *result)  # into the scan's array as it arrives
            done[k].add(i)
            bar.advance()

        def on_failure(call: Call, failure: Failure) -> None:
            failures[call.key[0]].append(failure)
            bar.advance()

        def give_up() -> bool:  # the first batch failed entirely: the rest would fail the same way
            return not succeeded() and sum(map(len, failures)) >= first_batch

        try:
            with ProgressBar(label, n_total, sum(resumed), enabled=progress) as bar:
                if while_sampling is not None:
                    pool.submit(_nothing)  # start the workers, then let the caller work while they sample
                    while_sampling()
                try:
                    scheduler.run(calls, on_success, on_failure, give_up=give_up)
                except BrokenExecutor as exc:
                    broken_executor_note(exc, pool, "the checkpoint" if store is not None else "no checkpoint")
                    raise
        finally:
            if own_executor:
                pool.shutdown(cancel_futures=True)
        restarts = scheduler.restarts
        if give_up():
            error = EvaluationError(
                [f for fs in failures for f in fs], n_total - sum(resumed), context=f"scan of {label}"
            )
            if store is not None:
                error.add_note("the finished points are in the checkpoint; the same call samples only the others")
            raise error
    wall = time.perf_counter() - started
    out = [
        _finish(
            system, assemblers[k].dataset(sorted(done[k])), seed, n_samples, wall, resumed[k], restarts, failures[k]
        )
        for k, system in enumerate(systems)
    ]
    warn_failures([f for fs in failures for f in fs], n_total)
    return out


def _nothing() -> None:
    """A call that starts a pool's workers."""


def _named(system: System, point: np.ndarray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(system.space.names, point)}


def _finish(
    system: System,
    ds: xr.Dataset,
    seed: int,
    n_samples: int,
    wall: float,
    resumed: int = 0,
    worker_restarts: int = 0,
    failures: Sequence[Failure] = (),
) -> xr.Dataset:
    ds.attrs.update(
        provenance_attrs(
            system=system.name,
            system_params=system.params(),
            space=system.space.to_dict(),
            n_sites=system.n_sites(),
            **({} if system.size() is None else {"size": system.size()}),
            seed=seed,
            n_samples=n_samples,
            wall_time_s=round(wall, 3),
            **({"resumed_points": resumed} if resumed else {}),
            **({"worker_restarts": worker_restarts} if worker_restarts else {}),
            **({"n_failed": len(failures), "failures": [f.to_dict() for f in failures]} if failures else {}),
        )
    )
    return ds


def samples_to_dataset(system: System, points: np.ndarray, samples: list[Samples]) -> xr.Dataset:
    """Stack per-point :class:`Samples` into the scan Dataset layout."""
    assembler = _DatasetAssembler(system, points)
    for i, s in enumerate(samples):
        assembler.add(i, s.configurations, s.observables, s.metadata)
    return assembler.dataset()


class _DatasetAssembler:
    """One system's scan Dataset, filled point by point in any order: each point's configurations go
    straight into one preallocated ``(point, sample, *sites)`` array (unpacked there if they came as
    :class:`~phasemapper._bits.PackedSites`), so no per-point copy outlives its arrival."""

    def __init__(self, system: System, points: np.ndarray) -> None:
        self.system, self.points = system, points
        self.configurations: np.ndarray | None = None
        self.observables: list[dict[str, np.ndarray] | None] = [None] * len(points)
        self.metadata: list[dict[str, Any] | None] = [None] * len(points)

    def add(
        self,
        i: int,
        configurations: np.ndarray | PackedSites,
        observables: dict[str, np.ndarray],
        metadata: dict[str, Any],
    ) -> None:
        shape, dtype = tuple(configurations.shape), np.dtype(configurations.dtype)
        if self.configurations is None:
            self.configurations = np.empty((len(self.points),) + shape, dtype)
        elif self.configurations.shape[1:] != shape:
            raise ValueError(
                f"point {i} returned configurations of shape {shape}, "
                f"the scan's other points {self.configurations.shape[1:]}"
            )
        elif not np.can_cast(dtype, self.configurations.dtype, casting="safe"):  # as np.stack would promote
            self.configurations = self.configurations.astype(np.result_type(dtype, self.configurations.dtype))
        if isinstance(configurations, PackedSites):
            configurations.unpack_into(self.configurations[i])
        else:
            self.configurations[i] = configurations
        self.observables[i], self.metadata[i] = observables, metadata

    def dataset(self, indices: Sequence[int] | None = None) -> xr.Dataset:
        """The Dataset of the points added, or of ``indices`` among them (the others failed)."""
        if indices is not None and len(indices) < len(self.points):
            if not indices:
                raise ValueError("no point of the scan succeeded")
            kept = _DatasetAssembler(self.system, self.points[list(indices)])
            kept.configurations = None if self.configurations is None else self.configurations[list(indices)]
            kept.observables = [self.observables[i] for i in indices]
            kept.metadata = [self.metadata[i] for i in indices]
            return kept.dataset()
        configurations = self.configurations
        observables = [o for o in self.observables if o is not None]
        metadata = [m for m in self.metadata if m is not None]
        if configurations is None or len(observables) < len(self.points) or len(metadata) < len(self.points):
            raise ValueError(f"{len(self.points) - len(observables)} of the scan's points have not been added")
        point_dim, sample_dim = "point", "sample"
        site_dims = tuple(self.system.site_dims)
        if configurations.ndim - 2 != len(site_dims):  # systems whose sample shape is only known from the samples
            site_dims = tuple(f"site_{k}" for k in range(configurations.ndim - 2))
        data_vars: dict[str, Any] = {"configuration": ((point_dim, sample_dim) + site_dims, configurations)}
        for name in observables[0]:
            data_vars[name] = ((point_dim, sample_dim), np.stack([o[name] for o in observables]))
        for key in metadata[0]:
            data_vars[key] = ((point_dim,), np.asarray([m[key] for m in metadata]))
        coords = {name: (point_dim, self.points[:, i]) for i, name in enumerate(self.system.space.names)}
        ds = xr.Dataset(data_vars, coords=coords)
        ds["configuration"].attrs["description"] = "sampled configurations"
        return ds


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _size_label(system: System) -> str:
    return "" if system.size_param is None else f"{system.size_param}={system.size()}"
