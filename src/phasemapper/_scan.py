"""Evaluate a system at many points: the ``scan`` function."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import nullcontext
from typing import Any

import numpy as np
import xarray as xr

from ._bits import PackedSites, pack_sites
from ._checkpoint import ScanCheckpoint
from ._executors import ProcessPool, SerialExecutor, check_executor, default_executor
from ._provenance import provenance_attrs
from ._types import Samples
from .systems._base import System, check_positive_int

__all__ = ["scan", "scan_sizes", "samples_to_dataset"]

#: How many times a scan starts fresh workers after one died (the OOM killer, a crash in native code) before it gives up.
MAX_POOL_RESTARTS = 3


def _sample_point(system: System, point: np.ndarray, n_samples: int, seed: np.random.SeedSequence,
                  pack: bool = False) -> tuple[np.ndarray | PackedSites, dict[str, np.ndarray], dict[str, Any]]:
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

    Notes
    -----
    On the default pool (``executor=None``, or a :class:`phasemapper.ProcessPool`) a
    worker that dies (the out-of-memory killer, a crash in native code) fails every call running
    beside it; the scan starts fresh workers and samples those points again, with the same seeds,
    up to ``MAX_POOL_RESTARTS`` times (``attrs["worker_restarts"]`` counts them).

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
    return scan_sizes([system], points, n_samples, seed=seed, executor=executor, progress=progress,
                      checkpoint=checkpoint)[0]


def scan_sizes(
    systems: list[System],
    points: Any,
    n_samples: int,
    seed: int | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    while_sampling: Callable[[], object] | None = None,
    checkpoint: str | os.PathLike | None = None,
) -> list[xr.Dataset]:
    """:func:`scan` several systems (e.g. one per lattice size) over the same points in one pool.

    Every point of every system is submitted at once, the largest system first, so
    the cheap points fill the pool's tail instead of each system draining it in
    turn. Each system's Dataset is identical to ``scan(system, ...)`` with the same
    arguments (point ``i`` draws from ``SeedSequence(seed).spawn(n)[i]``); its
    ``wall_time_s`` is the time until that system's last point arrived.
    ``while_sampling``, if given, is called once in this process after every point
    is submitted (a forked pool's workers exist by then; not at all when the checkpoint
    holds every point), while the pool samples:
    the place to import what the analysis after the scan needs. ``checkpoint`` is as in
    :func:`scan`: a killed multi-size scan resumes with the points it had finished.

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
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = check_positive_int("seed", seed, minimum=0)
    order = sorted(range(len(systems)), key=lambda k: -(systems[k].size() or 0))  # largest first

    check_executor(executor)
    store = None if checkpoint is None else ScanCheckpoint(checkpoint, ScanCheckpoint.spec_of(systems, pts, n_samples,
                                                                                                seed))
    with nullcontext() if store is None else store.exclusive():  # one scan at a time writes a checkpoint
        return _scan_held(systems, pts, n_samples, seed, executor, progress, while_sampling, store, order)


def _scan_held(systems: list[System], pts: list[np.ndarray], n_samples: int, seed: int, executor: Executor | None,
               progress: bool, while_sampling: Callable[[], object] | None, store: ScanCheckpoint | None,
               order: list[int]) -> list[xr.Dataset]:
    """:func:`scan_sizes` once its arguments are checked and its checkpoint, if any, is held."""
    started = time.perf_counter()
    assemblers = [_DatasetAssembler(system, p) for system, p in zip(systems, pts)]
    stored: list[list[int]] = []
    for k, assembler in enumerate(assemblers):
        readable = {} if store is None else store.read_done(k)
        for i, point in readable.items():
            assembler.add(i, *point)
        stored.append(sorted(readable))
    left = [len(p) - len(done) for p, done in zip(pts, stored)]
    out: list[xr.Dataset | None] = [None] * len(systems)

    restarts = 0  # fresh workers started after one died

    def finish(k: int) -> None:
        out[k] = _finish(systems[k], assemblers[k].dataset(), seed, n_samples, time.perf_counter() - started,
                         len(stored[k]), restarts)

    for k in (k for k in order if left[k] == 0):
        finish(k)
    if sum(left) == 0:
        return out  # type: ignore[return-value]
    own_executor = executor is None
    if own_executor:
        executor = default_executor(max_workers=min(sum(left), _cpu_count()))
    pack = not isinstance(executor, SerialExecutor)  # another process: send two-valued sites as bits
    done = [set(indices) for indices in stored]
    try:
        failed: BaseException | None = None
        label = " ".join(f"{systems[k].name} {_size_label(systems[k])}".strip() for k in order)
        with _progress_bar(progress, label, sum(len(p) for p in pts), sum(map(len, stored))) as advance:
            while True:  # one round, and another on fresh workers after a worker died
                futures = {}
                for k in order:
                    children = np.random.SeedSequence(seed).spawn(len(pts[k]))
                    for i, (p, c) in enumerate(zip(pts[k], children)):
                        if i not in done[k]:
                            futures[executor.submit(_sample_point, systems[k], p, n_samples, c, pack)] = (k, i)
                if while_sampling is not None and restarts == 0:
                    while_sampling()
                worker_died = False
                for future in as_completed(futures):
                    k, i = futures[future]
                    if future.cancelled():
                        continue
                    exc = future.exception()
                    if isinstance(exc, BrokenProcessPool) and isinstance(executor, ProcessPool) \
                            and restarts < MAX_POOL_RESTARTS:
                        worker_died = True  # every call in the pool fails with it: sample them again
                        continue
                    if exc is not None:  # stop submitting work, but keep what is already running
                        if failed is None:
                            failed = exc
                            failed.add_note(_failure_note(exc, systems[k], i, restarts, store is not None))
                            for other in futures:
                                other.cancel()
                        continue
                    result = future.result()
                    if store is not None:  # on disk first: a kill from here on loses nothing
                        store.write(k, i, *result)
                    assemblers[k].add(i, *result)  # into the scan's array as it arrives
                    done[k].add(i)
                    left[k] -= 1
                    if left[k] == 0:  # finished while the pool samples the other systems
                        finish(k)
                    advance()
                if failed is not None:
                    raise failed
                if not worker_died:
                    break
                restarts += 1  # the next submit starts fresh workers (ProcessPool)
    finally:
        if own_executor:
            executor.shutdown(cancel_futures=True)
    return out  # type: ignore[return-value]


def _failure_note(exc: BaseException, system: System, i: int, restarts: int, checkpointed: bool) -> str:
    """What to add to the exception that ends a scan."""
    if isinstance(exc, BrokenProcessPool):  # the point it arrived with need not be the one that killed the worker
        where = f"a worker process died (killed, or crashed in native code) while sampling {system.name} " \
                f"{_size_label(system)}; the pool had been restarted {restarts} times"
    else:
        where = f"while sampling point {i} of {system.name} {_size_label(system)}"
    return where + ("; the finished points are in the checkpoint" if checkpointed else "")


def _finish(system: System, ds: xr.Dataset, seed: int, n_samples: int, wall: float, resumed: int = 0,
            worker_restarts: int = 0) -> xr.Dataset:
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

    def add(self, i: int, configurations: np.ndarray | PackedSites, observables: dict[str, np.ndarray],
            metadata: dict[str, Any]) -> None:
        shape, dtype = tuple(configurations.shape), np.dtype(configurations.dtype)
        if self.configurations is None:
            self.configurations = np.empty((len(self.points),) + shape, dtype)
        elif self.configurations.shape[1:] != shape:
            raise ValueError(f"point {i} returned configurations of shape {shape}, "
                             f"the scan's other points {self.configurations.shape[1:]}")
        elif not np.can_cast(dtype, self.configurations.dtype, casting="safe"):  # as np.stack would promote
            self.configurations = self.configurations.astype(np.result_type(dtype, self.configurations.dtype))
        if isinstance(configurations, PackedSites):
            configurations.unpack_into(self.configurations[i])
        else:
            self.configurations[i] = configurations
        self.observables[i], self.metadata[i] = observables, metadata

    def dataset(self) -> xr.Dataset:
        point_dim, sample_dim = "point", "sample"
        configurations = self.configurations
        site_dims = tuple(self.system.site_dims)
        if configurations.ndim - 2 != len(site_dims):  # systems whose sample shape is only known from the samples
            site_dims = tuple(f"site_{k}" for k in range(configurations.ndim - 2))
        data_vars: dict[str, Any] = {"configuration": ((point_dim, sample_dim) + site_dims, configurations)}
        for name in self.observables[0]:
            data_vars[name] = ((point_dim, sample_dim), np.stack([o[name] for o in self.observables]))
        for key in self.metadata[0]:
            data_vars[key] = ((point_dim,), np.asarray([m[key] for m in self.metadata]))
        coords = {name: (point_dim, self.points[:, i]) for i, name in enumerate(self.system.space.names)}
        ds = xr.Dataset(data_vars, coords=coords)
        ds["configuration"].attrs["description"] = "sampled configurations"
        return ds


def _cpu_count() -> int:
    return os.cpu_count() or 1


def _size_label(system: System) -> str:
    return "" if system.size_param is None else f"{system.size_param}={system.size()}"


class _progress_bar:
    """A Rich progress bar, or nothing when disabled; yields an ``advance()`` callable."""

    def __init__(self, enabled: bool, description: str, total: int | None, completed: int = 0) -> None:
        self.enabled, self.description, self.total, self.completed = enabled, description, total, completed
        self._progress = None

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=False
        )
        self._progress.start()
        task = self._progress.add_task(self.description, total=self.total, completed=self.completed)
        return lambda: self._progress.advance(task)

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

