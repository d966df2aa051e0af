"""The closed loop: planner -> system (on an executor) -> labeler -> store -> planner, until a stop condition."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ._checks import check_memory, check_positive_int, check_positive_number, check_seed
from ._executors import check_executor, check_timeout_executor, default_executor
from ._failures import EvaluationError, Failure, warn_failures
from ._manifest import (
    campaign_arguments,
    campaign_manifest,
    file_references,
    manifest_fields,
    run_files,
    with_run_files,
)
from ._result import CampaignResult, failures_of, run_result
from ._scheduler import Call, Scheduler, broken_executor_note
from ._space import Space
from ._store import Evaluation, RunStore
from .progress import ProgressBar, show_progress
from .systems._base import System

if TYPE_CHECKING:
    from .labelers import Labeler
    from .maps import PhaseMap
    from .planners import Planner
    from .theory import Theory

__all__ = ["Campaign", "check_run_limits"]

#: Evaluations asked and run together unless ``batch_size`` says otherwise: the same on every machine, so the
#: same seed gives the same run whatever the number of cores
DEFAULT_BATCH_SIZE = 8


def _evaluate(system: System, labeler: Any, point: dict[str, float], n_samples: int, seed: int) -> tuple:
    """Run in a worker: sample the system at one point and label the samples."""
    started = time.perf_counter()
    full = system.points({k: [v] for k, v in point.items()})[0]
    samples = system.sample(full, n_samples, np.random.SeedSequence(seed))
    proba = np.asarray(labeler(samples, full), dtype=float)
    if not np.all(np.isfinite(proba)):
        raise ValueError(f"labeler returned non-finite probabilities {proba!r}")
    return proba, samples, time.perf_counter() - started


def check_run_limits(
    budget: int | None = None, entropy_goal: float | None = None, time_limit: float | None = None
) -> None:
    """Check the stopping limits of :meth:`Campaign.run` (``None``: not given); raise ``ValueError`` naming the field.

    Examples
    --------
    >>> check_run_limits(budget=10, time_limit=60.0)
    >>> check_run_limits(budget=0)
    Traceback (most recent call last):
    ...
    ValueError: budget must be >= 1, got 0
    """
    if budget is not None:
        check_positive_int("budget", budget)
    check_positive_number("entropy_goal", entropy_goal, " (nats)")
    check_positive_number("time_limit", time_limit, " of seconds")


class Campaign:
    """Map a phase diagram with few evaluations: ask, evaluate in parallel, label, record, refit, repeat.

    Parameters
    ----------
    system : System
        What to evaluate (``system.sample``).
    space : Space, optional
        Where to map (default: the system's own space). Axes are named like the system's.
    planner : str or Planner
        ``"boundary"`` (default), ``"entropy"``, ``"refine"``, ``"grid"``, ``"sobol"``, ``"random"`` or a Planner.
    labeler : Labeler, optional
        Samples -> phase probabilities (default: :func:`phasemapper.labelers.default_labeler`).
    model : str or PhaseMap, optional
        The phase-map model (default ``GPClassifierMap``); the ``boundary`` planner steers by it.
    store : str, Path or None
        Run directory (created; must not already hold a run). ``None``: a temporary directory
        (``campaign.store.path``, also in the result's repr), removed when Python exits; give a path to keep the run.
    executor : concurrent.futures.Executor, optional
        Where evaluations run (default: a process pool, one worker per core; Dask:
        ``Client.get_executor()``).
    batch_size : int, optional
        Evaluations asked and run together (default 8, on every machine: the same seed gives the same
        run whatever the number of cores).
    seed : int
        Seeds the planner and every evaluation (evaluation ``i`` uses ``SeedSequence([seed, i])``).
    n_samples : int, optional
        Samples per evaluation (default 1 for systems that return labels, 50 otherwise).
    max_attempts : int
        Attempts per evaluation before it is recorded as failed for good. A worker process that dies
        counts an attempt only for the call that killed it: calls cut short beside it run again
        alone, uncharged, until one dies alone.
    timeout : float, optional
        Seconds one evaluation may run before it counts as a failed attempt (calls are submitted one
        per worker, so the clock starts when the call does; on an executor that does not tell how
        many workers it has, the whole batch is submitted and the clock starts at submission). On
        the default process pool the workers are then replaced, which stops a call that hangs; Dask
        and other executors cannot stop a running call, so a hung one keeps its worker.
    planner_params : dict, optional
        Extra parameters for a planner given by name (e.g. ``{"points_per_axis": 20}``).
    priors : list of dict, optional
        Prior knowledge for the model (see :meth:`phasemapper.maps.Priors.extend`).
    theory : object, optional
        Theory in the loop (e.g. :class:`phasemapper.theory.CalphadTheory`): after every batch (and on
        resume) ``theory.fit(points, proba)`` is called on all done evaluations and
        ``theory.prior_field(space)`` replaces the map's theory prior, which steers the planner.
        Its state is written to ``theory.json`` in the run directory.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.systems import ThreePhase
    >>> result = pm.Campaign(ThreePhase(noise=0.0), executor=pm.SerialExecutor(), batch_size=8,
    ...                      seed=0).run(budget=48, progress=False)
    >>> result.n_evaluations, sorted(result.phase_map.data_vars)
    (48, ['entropy', 'label', 'proba'])
    """

    def __init__(
        self,
        system: System,
        space: Space | None = None,
        *,
        planner: Planner | str = "boundary",
        labeler: Labeler | None = None,
        model: PhaseMap | str | None = None,
        store: str | os.PathLike | None = None,
        executor: Executor | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        n_samples: int | None = None,
        max_attempts: int = 3,
        timeout: float | None = None,
        planner_params: dict[str, Any] | None = None,
        priors: Sequence[dict[str, Any]] | None = None,
        theory: Theory | None = None,
        _store: RunStore | None = None,
    ) -> None:
        from .labelers import Labeler, default_labeler
        from .maps import PhaseMap, make_map
        from .planners import MAP_PLANNERS, PLANNERS, Planner, make_planner
        from .theory import Theory

        if not isinstance(system, System):
            raise TypeError(f"system must be a phasemapper System, got {type(system).__name__}")
        self.system = system
        self.space = system.space if space is None else space
        if not isinstance(self.space, Space):
            raise TypeError(f"space must be a phasemapper.Space, got {type(self.space).__name__}")
        unknown = set(self.space.names) - set(system.space.names)
        if unknown:
            raise ValueError(
                f"space axis {sorted(unknown)[0]!r} is not an axis of system {system.name!r} "
                f"({list(system.space.names)})"
            )
        missing = [n for n in system.space.names if n not in self.space.names and n not in system.optional_axes]
        if missing:
            raise ValueError(f"space is missing the required axis {missing[0]!r} of system {system.name!r}")
        # the space's corners and centre must be points the system can evaluate: a bad range fails now, not per point
        probe = np.vstack([self.space.grid(2), self.space.from_cube(np.full((1, self.space.unit_ndim), 0.5))])
        system.points(dict(zip(self.space.names, probe.T)))
        self.seed = check_seed("seed", seed)
        self.labeler = default_labeler(system) if labeler is None else labeler
        if not isinstance(self.labeler, Labeler):
            raise TypeError(f"labeler must be a phasemapper.labelers.Labeler, got {type(self.labeler).__name__}")
        phases = self.labeler.phases
        if model is None:
            model = "gp"
        self.model = make_map(model, self.space, phases) if isinstance(model, str) else model
        if not isinstance(self.model, PhaseMap):
            raise TypeError(f"model must be a map name or a phasemapper.maps.PhaseMap, got {type(self.model).__name__}")
        if tuple(self.model.check().phases) != tuple(phases):
            raise ValueError(f"model phases {tuple(self.model.phases)} differ from the labeler's {tuple(phases)}")
        if priors:
            self.model.priors.extend(priors)
        if theory is not None and not isinstance(theory, Theory):
            raise TypeError(
                f"theory must have fit(points, proba), prior_field(space) and summary() "
                f"(phasemapper.theory.Theory), got {type(theory).__name__}"
            )
        if theory is not None and tuple(getattr(getattr(theory, "model", None), "phases", phases)) != tuple(phases):
            raise ValueError("theory's phases differ from the labeler's")
        self.theory = theory
        params = dict(planner_params or {})
        if isinstance(planner, str):
            if PLANNERS.key(planner) in MAP_PLANNERS:
                params.setdefault("model", self.model)
                params.setdefault("phases", phases)
            params.setdefault("seed", self.seed)
            planner = make_planner(planner, self.space, **params)
        if not isinstance(planner, Planner):
            raise TypeError(
                f"planner must be a planner name or a phasemapper.planners.Planner, got {type(planner).__name__}"
            )
        if planner.space != self.space:
            raise ValueError("planner must be built on the campaign's space")
        self.planner = planner
        self.batch_size = DEFAULT_BATCH_SIZE if batch_size is None else check_positive_int("batch_size", batch_size)
        default_n = 1 if getattr(system, "_takes_rng", False) or not system.site_dims else 50
        self.n_samples = default_n if n_samples is None else check_positive_int("n_samples", n_samples)
        self.max_attempts = check_positive_int("max_attempts", max_attempts)
        check_memory("one evaluation", 1, self.n_samples, int(np.prod(system.site_shape())))
        self.timeout = check_positive_number("timeout", timeout, " of seconds")
        check_executor(executor)
        check_timeout_executor(timeout, executor)
        self.executor = executor
        self._store = _store
        if _store is None:
            if store is None:  # a scratch run: kept while Python runs (to resume, report, ...), then removed
                path = Path(tempfile.mkdtemp(prefix="phasemapper-run-"))
                atexit.register(shutil.rmtree, path, ignore_errors=True)
            else:
                path = RunStore.check_new(store)
            self._store_path = path

    @property
    def store(self) -> RunStore:
        """The run directory; :meth:`run` creates it with its limits, or this does without them."""
        if self._store is None:
            self._store = self._create_store(self.manifest())
        return self._store

    def _create_store(self, manifest: dict[str, Any]) -> RunStore:
        """The run directory, with copies of the files the system and theory read (see :func:`with_run_files`)."""
        files = run_files(manifest)
        return RunStore.create(self._store_path, manifest, files=files)

    # ------------------------------------------------------------------ spec
    def manifest(self) -> dict[str, Any]:
        """What the run directory records of this campaign: its parts by registry name and parameters, its
        settings, versions and provenance (:func:`~phasemapper._manifest.campaign_manifest`)."""
        return campaign_manifest(self)

    @classmethod
    def resume(
        cls,
        path: str | os.PathLike,
        system: System | None = None,
        labeler: Any = None,
        executor: Executor | None = None,
        database: str | os.PathLike | None = None,
    ) -> Campaign:
        """Reopen a run directory; :meth:`run` then continues where it stopped, to the limits it was started with.

        Systems, theories and labelers registered by name are rebuilt from the manifest;
        pass ``system=`` (and ``labeler=``) for your own. The CALPHAD databases a run reads are
        kept in the run directory; ``database=`` names a file to read instead (for a run from
        elsewhere whose manifest names a file outside its directory, which is refused).
        """
        store = RunStore(path)
        with manifest_fields(store) as spec:
            if database is not None and not any(file_references(spec)):
                raise ValueError(f"database: the run in {str(store.path)!r} reads no database file")
            spec = with_run_files(spec, store.path, database)
            return cls(**campaign_arguments(store, spec, system, labeler), executor=executor, _store=store)

    # ------------------------------------------------------------------- run
    def run(
        self,
        budget: int | None = None,
        entropy_goal: float | None = None,
        time_limit: float | None = None,
        callbacks: Sequence[Callable[..., Any]] = (),
        progress: bool = True,
        grid_size: int = 64,
    ) -> CampaignResult:
        """Run until ``budget`` evaluations, mean map entropy <= ``entropy_goal``, ``time_limit`` seconds, or the
        planner has nothing left to ask, or a callback ``cb(campaign, info)`` returns True after a batch
        (``info``: batch, n_evaluations, n_failed, elapsed). Limits not given are taken from the run's manifest (a resumed run
        continues to the limits it was started with); at least one limit is needed."""
        check_run_limits(budget, entropy_goal, time_limit)
        if self._store is None:  # a new run: its directory appears whole, limits included, or not at all
            if budget is None and entropy_goal is None and time_limit is None:
                raise ValueError("give at least one of budget, entropy_goal, time_limit")
            manifest = self.manifest()
            manifest["run"] = {"budget": budget, "entropy_goal": entropy_goal, "time_limit": time_limit}
            self._store = self._create_store(manifest)
        try:
            with self.store.exclusive():  # one campaign at a time writes a run directory
                return self._run(budget, entropy_goal, time_limit, callbacks, progress, grid_size)
        finally:  # the run on disk is whole and closed: readers see it as it is, nothing waits for the collector
            self.store.close()

    def _run(
        self,
        budget: int | None,
        entropy_goal: float | None,
        time_limit: float | None,
        callbacks: Sequence[Callable[..., Any]],
        progress: bool,
        grid_size: int,
    ) -> CampaignResult:
        stored = self.store.manifest().get("run", {})
        budget = stored.get("budget") if budget is None else budget
        entropy_goal = stored.get("entropy_goal") if entropy_goal is None else entropy_goal
        time_limit = stored.get("time_limit") if time_limit is None else time_limit
        if budget is None and entropy_goal is None and time_limit is None:
            raise ValueError("give at least one of budget, entropy_goal, time_limit")
        self.store.update_manifest(run={"budget": budget, "entropy_goal": entropy_goal, "time_limit": time_limit})

        self._replay()
        started = time.perf_counter()
        own = self.executor is None
        executor: Executor = default_executor() if self.executor is None else self.executor
        reason = ""
        try:
            with show_progress(progress), ProgressBar("campaign", budget, len(self.store.evaluations())) as bar:
                while True:
                    n_done = len(self.store.evaluations())
                    pending = self.store.evaluations("pending")
                    if not pending:
                        if budget is not None and n_done >= budget:
                            reason = "budget"
                            break
                        if time_limit is not None and time.perf_counter() - started >= time_limit:
                            reason = "time_limit"
                            break
                        if (
                            entropy_goal is not None
                            and self.store.evaluations("done")
                            and self.mean_entropy() <= entropy_goal
                        ):
                            reason = "entropy_goal"
                            break
                        n = self.batch_size if budget is None else min(self.batch_size, budget - n_done)
                        points = self.planner.ask(n)
                        if len(points) == 0:
                            reason = "planner_exhausted"
                            break
                        first = self.store.next_id()
                        seeds = [_evaluation_seed(self.seed, first + i) for i in range(len(points))]
                        self.store.add_batch(self.store.n_batches(), points, seeds)
                        pending = self.store.evaluations("pending")
                    self._evaluate_batch(executor, pending, bar)
                    if not self.store.evaluations("done"):  # every evaluation so far failed: the rest would too
                        raise EvaluationError(
                            failures_of(self.store, self.space),
                            len(self.store.evaluations()),
                            context=f"campaign on {self.system.name} ({self.store.path})",
                        )
                    self._update_theory()
                    info = {
                        "batch": self.store.n_batches() - 1,
                        "n_evaluations": len(self.store.evaluations()),
                        "n_failed": len(self.store.evaluations("failed")),
                        "elapsed": time.perf_counter() - started,
                    }
                    if any([bool(cb(self, info)) for cb in callbacks]):
                        reason = "callback"
                        break
        finally:
            if own:
                executor.shutdown(cancel_futures=True)
        self.store.update_manifest(stop_reason=reason)
        self._record_theory_features()
        result = self.result(reason, grid_size)
        warn_failures(failures_of(self.store, self.space), result.n_evaluations)
        return result

    def mean_entropy(self, grid_size: int = 32) -> float:
        """Mean entropy (nats) of the current map over a grid."""
        return float(self.current_map(grid_size)["entropy"].mean())

    def current_map(self, grid_size: int = 32) -> xr.Dataset:
        """The phase map fitted to every evaluation done so far (nothing is written; see :meth:`result`)."""
        return self.fitted_map().phase_map(grid_size)

    def evaluated(self) -> tuple[np.ndarray, np.ndarray]:
        """The points done so far, in the order they were asked, and the most likely phase of each."""
        done = self.store.evaluations("done")
        points = np.array([e.point for e in done]).reshape(-1, self.space.ndim)
        labels = (
            np.asarray(self.labeler.phases)[[int(np.argmax(np.asarray(e.proba))) for e in done]]
            if done
            else np.array([], dtype=str)
        )
        return points, labels

    def result(self, stop_reason: str = "", grid_size: int = 64) -> CampaignResult:
        """The current phase map and evaluations (fits the model to everything done)."""
        return run_result(self.store, self.fitted_map(), stop_reason, grid_size)

    # ------------------------------------------------------------- internals
    def fitted_map(self) -> PhaseMap:
        """The campaign's map fitted to every done evaluation (the planner's, where it steers by this map)."""
        if self.planner.steering_map() is self.model:
            return self.planner.fitted_map()
        done = self.store.evaluations("done")
        if done:
            self.model.fit(np.array([e.point for e in done]), np.array([e.proba for e in done]))
        return self.model

    def _replay(self) -> None:
        """Tell the planner everything the ledger holds (a fresh planner asks what the original would ask)."""
        done = self.store.evaluations("done")
        if done:
            self.planner.tell(np.array([e.point for e in done]), np.array([e.proba for e in done]))
        failed = self.store.evaluations("failed")
        if failed:
            self.planner.tell_pending(np.array([e.point for e in failed]))
        self._update_theory()

    def _update_theory(self) -> None:
        """Refit the theory to every done evaluation and make its diagram the map's prior (a function of the
        ledger alone, so a resumed run steers exactly as the uninterrupted one)."""
        done = self.store.evaluations("done")
        if self.theory is None or not done:
            return
        self.theory.fit(np.array([e.point for e in done]), np.array([e.proba for e in done]))
        prior = self.theory.prior_field(self.space)
        self.model.priors.add(**prior)
        self.store.write_theory({"n_evaluations": len(done), **self.theory.summary(), "prior": prior})

    def _record_theory_features(self) -> None:
        """Add the refit diagram's features to ``theory.json`` (once, when the run stops: they cost equilibria)."""
        summary = self.store.theory()
        if self.theory is None or summary is None:
            return
        summary["features"] = self.theory.features()
        self.store.write_theory(summary)

    def _evaluate_batch(self, executor: Executor, rows: list[Evaluation], bar: ProgressBar) -> None:
        """Evaluate ``rows`` on the scheduler (retries, timeouts, dead workers replaced: see
        :class:`~phasemapper._scheduler.Scheduler`), recording each outcome in the ledger as it comes.

        The planner hears the batch's results at the end, in ledger order, so what it asks next does
        not depend on which call finished first (the same seed gives the same run on any machine).
        """
        results: dict[int, np.ndarray] = {}
        points = {e.id: e.point for e in rows}

        def on_success(call: Call, result: tuple, seconds: float) -> None:
            proba, samples, worker_seconds = result
            self.store.record_success(call.key, proba, worker_seconds, samples, self.system.site_dims)
            results[call.key] = proba
            bar.advance()

        def on_attempt_failed(call: Call, error: str, seconds: float) -> None:
            self.store.record_failure(call.key, error, seconds, self.max_attempts)

        def on_failure(call: Call, failure: Failure) -> None:
            self.planner.tell_pending(points[call.key][None])  # failed for good: not to be asked again
            bar.advance()

        calls = []
        for e in rows:
            where = dict(zip(self.space.names, map(float, e.point)))
            calls.append(
                Call(e.id, _evaluate, (self.system, self.labeler, where, self.n_samples, e.seed), where, e.attempts)
            )
        try:
            Scheduler(executor, max_attempts=self.max_attempts, timeout=self.timeout).run(
                calls, on_success, on_failure, on_attempt_failed
            )
        except BrokenExecutor as exc:  # e.g. a ProcessPoolExecutor after a worker died: it takes no more calls
            broken_executor_note(exc, executor, str(self.store.path))
            raise
        if results:
            ids = sorted(results)
            self.planner.tell(np.array([points[i] for i in ids]), np.array([results[i] for i in ids]))


def _evaluation_seed(seed: int, eval_id: int) -> int:
    return int(np.random.SeedSequence([seed, eval_id]).generate_state(2, np.uint64)[0] >> np.uint64(1))
