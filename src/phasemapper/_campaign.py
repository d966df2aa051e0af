"""The closed loop: planner -> system (on an executor) -> labeler -> store -> planner, until a stop condition."""

from __future__ import annotations

import atexit
import copy
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._executors import check_executor, check_timeout_executor, default_executor
from ._failures import EvaluationError, Failure, failure_table, warn_failures
from ._io import save
from ._provenance import package_versions, provenance_attrs, run_context
from ._scheduler import Call, Scheduler, broken_executor_note
from ._space import Space
from ._store import Evaluation, RunStore
from .progress import ProgressBar, show_progress
from ._checks import check_memory, check_positive_int, check_positive_number, check_seed
from .systems._base import System, make_system

__all__ = ["Campaign", "CampaignResult", "load_run"]

MANIFEST_FORMAT = 1
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


def check_run_limits(budget: int | None = None, entropy_goal: float | None = None,
                     time_limit: float | None = None) -> None:
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


@dataclass(repr=False)
class CampaignResult:
    """What a campaign returns: the phase map and every evaluation.

    Attributes
    ----------
    phase_map : xarray.Dataset
        ``proba(phase, *axes)``, ``label``, ``entropy`` on a grid; boundaries and provenance in ``attrs``.
    points : ndarray (n, ndim)
        Evaluated points (done evaluations, in the order they were asked).
    proba : ndarray (n, n_phases)
        Their phase probabilities from the labeler.
    labels : ndarray of str
        Most likely phase of each evaluated point.
    evaluations : list of Evaluation
        Every ledger row, failed ones included.
    path : Path
        The run directory.
    model : PhaseMap
        The fitted phase-map model.
    """

    phase_map: xr.Dataset
    points: np.ndarray
    proba: np.ndarray
    labels: np.ndarray
    evaluations: list[Evaluation]
    path: Path
    model: Any
    stop_reason: str = ""
    phases: tuple[str, ...] = field(default=())

    @property
    def n_evaluations(self) -> int:
        return len(self.evaluations)

    @property
    def n_failed(self) -> int:
        """Evaluations that failed for good."""
        return sum(e.status == "failed" for e in self.evaluations)

    @property
    def failures(self) -> Any:
        """The evaluations that failed for good, as a ``pandas.DataFrame`` indexed by evaluation id: a column
        per axis, ``attempts`` and the last ``error``."""
        return failure_table([_failure(e, self.model.space) for e in self.evaluations if e.status == "failed"])

    def boundaries(self, grid_size: int = 64, band: float = 0.5) -> list[dict[str, Any]]:
        return self.model.boundaries(grid_size, band)

    def _summary(self) -> list[tuple[str, str]]:
        """What a repr shows: the run's size and outcome, the map's phases and uncertainty, where it is."""
        shares = ", ".join(f"{p} {float((self.phase_map['label'] == p).mean()):.0%}" for p in self.phases)
        done = len(self.points)
        return [("evaluations", f"{self.n_evaluations} ({done} done, {self.n_failed} failed)"),
                ("stopped by", self.stop_reason or "(not finished)"),
                ("map", f"{shares}; mean entropy {float(self.phase_map['entropy'].mean()):.3g} nats"),
                ("axes", ", ".join(f"{a.name} [{a.low:g}, {a.high:g}]" for a in self.model.space.axes)),
                ("run", str(self.path))]

    def __repr__(self) -> str:
        return "CampaignResult(" + ", ".join(f"{k}: {v}" for k, v in self._summary()) + ")"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in self._summary())
        return f"<table><caption>CampaignResult</caption>{rows}</table>"

    def plot(self, axes: Any = None, *, reference: Any = None, path: Any = None) -> Any:
        """The phase map with its boundaries, its uncertainty and the evaluated points in order, on three
        ``axes`` (default: a new figure; written to ``path`` if given). See :func:`phasemapper.plot.plot_phase_map`."""
        from .plot import plot_phase_map

        return plot_phase_map(self.phase_map, self.points, self.labels, axes=axes, reference=reference, path=path)


class Campaign:
    """Map a phase diagram with few evaluations: ask, evaluate in parallel, label, record, refit, repeat.

    Parameters
    ----------
    system : System
        What to evaluate (``system.sample``).
    space : Space, optional
        Where to map (default: the system's own space). Axes are named like the system's.
    planner : str or Planner
        ``"boundary"`` (default), ``"refine"``, ``"grid"``, ``"sobol"``, ``"random"`` or a Planner.
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

    def __init__(self, system: System, space: Space | None = None, planner: Any = "boundary", labeler: Any = None,
                 model: Any = None, store: str | os.PathLike | None = None, executor: Executor | None = None,
                 batch_size: int | None = None, seed: int = 0, n_samples: int | None = None, max_attempts: int = 3,
                 timeout: float | None = None, planner_params: dict[str, Any] | None = None,
                 priors: Sequence[dict[str, Any]] | None = None, theory: Any = None,
                 _store: RunStore | None = None) -> None:
        from .labelers import Labeler, default_labeler
        from .maps import PhaseMap, make_map
        from .planners import Planner, make_planner

        if not isinstance(system, System):
            raise TypeError(f"system must be a phasemapper System, got {type(system).__name__}")
        self.system = system
        self.space = system.space if space is None else space
        if not isinstance(self.space, Space):
            raise TypeError(f"space must be a phasemapper.Space, got {type(self.space).__name__}")
        unknown = set(self.space.names) - set(system.space.names)
        if unknown:
            raise ValueError(f"space axis {sorted(unknown)[0]!r} is not an axis of system {system.name!r} "
                             f"({list(system.space.names)})")
        missing = [n for n in system.space.names if n not in self.space.names and n not in system.optional_axes]
        if missing:
            raise ValueError(f"space is missing the required axis {missing[0]!r} of system {system.name!r}")
        # the space's corners and centre must be points the system can evaluate: a bad range fails now, not per point
        probe = np.vstack([self.space.grid([2] * self.space.ndim), self.space.from_unit(np.full((1, self.space.ndim), 0.5))])
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
        if theory is not None and not (hasattr(theory, "fit") and hasattr(theory, "prior_field")):
            raise TypeError(f"theory must have fit(points, proba) and prior_field(space), got {type(theory).__name__}")
        if theory is not None and tuple(getattr(getattr(theory, "model", None), "phases", phases)) != tuple(phases):
            raise ValueError("theory's phases differ from the labeler's")
        self.theory = theory
        params = dict(planner_params or {})
        if isinstance(planner, str):
            if planner == "boundary":
                params.setdefault("model", self.model)
                params.setdefault("phases", phases)
            params.setdefault("seed", self.seed)
            planner = make_planner(planner, self.space, **params)
        if not isinstance(planner, Planner):
            raise TypeError(f"planner must be a planner name or a phasemapper.planners.Planner, got {type(planner).__name__}")
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
        files = _run_files(manifest)
        return RunStore.create(self._store_path, manifest, files=files)

    # ------------------------------------------------------------------ spec
    def manifest(self) -> dict[str, Any]:
        from .labelers import labeler_spec
        from .theory import theory_spec

        return {
            "format": MANIFEST_FORMAT,
            "system": {"name": self.system.name, "params": self.system.params()},
            "space": self.space.to_dict(),
            "phases": list(self.labeler.phases),
            "planner": {"name": type(self.planner).__name__,
                        "params": {k: v for k, v in self.planner.params().items() if k not in ("phases",)}},
            "labeler": labeler_spec(self.labeler),
            "model": {"name": type(self.model).__name__, "params": self.model.params(),
                      "priors": self.model.priors.to_list()},
            "seed": self.seed, "batch_size": self.batch_size, "n_samples": self.n_samples,
            "max_attempts": self.max_attempts, "timeout": self.timeout,
            "theory": None if self.theory is None else theory_spec(self.theory),
            "versions": package_versions(),
            "provenance": run_context(),
            "run": {},
        }

    @classmethod
    def resume(cls, path: str | os.PathLike, system: System | None = None, labeler: Any = None,
               executor: Executor | None = None, database: str | os.PathLike | None = None) -> Campaign:
        """Reopen a run directory; :meth:`run` then continues where it stopped, to the limits it was started with.

        Systems, theories and labelers registered by name are rebuilt from the manifest;
        pass ``system=`` (and ``labeler=``) for your own. The CALPHAD databases a run reads are
        kept in the run directory; ``database=`` names a file to read instead (for a run from
        elsewhere whose manifest names a file outside its directory, which is refused).
        """
        store = RunStore(path)
        with _manifest_fields(store) as spec:
            if database is not None and not any(_file_references(spec)):
                raise ValueError(f"database: the run in {str(store.path)!r} reads no database file")
            spec = with_run_files(spec, store.path, database)
            return cls._from_manifest(store, spec, system, labeler, executor)

    @classmethod
    def _from_manifest(cls, store: RunStore, spec: dict[str, Any], system: System | None, labeler: Any,
                       executor: Executor | None) -> Campaign:
        from .labelers import make_labeler
        from .theory import make_theory

        if system is None:
            from .systems import registered_systems

            name = spec["system"]["name"]
            if str(name).lower() not in registered_systems():
                raise ValueError(f"the run's system {name!r} is not a registered one (a FunctionSystem, or a class of "
                                 f"your own): pass it, Campaign.resume({str(store.path)!r}, system=...)")
            try:
                system = make_system(name, **spec["system"]["params"])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"cannot rebuild system {spec['system']['name']!r} from the manifest ({exc}); "
                                 "pass system=") from None
        if labeler is None:
            lab = spec["labeler"]
            if lab["name"] is None:
                raise ValueError("the run's labeler is not a registered one; pass labeler=")
            labeler = make_labeler(lab["name"], **lab["params"])
        space = Space.from_dict(spec["space"])
        model = _model_from_manifest(spec, labeler.phases)
        planner = spec["planner"]["name"]
        params = dict(spec["planner"]["params"])
        theory = None
        if spec.get("theory"):
            if spec["theory"]["name"] is None:
                raise ValueError("the run's theory is not a registered one; it cannot be resumed from the manifest")
            theory = make_theory(spec["theory"]["name"], **spec["theory"]["params"])
        return cls(system, space, planner=planner.lower(), labeler=labeler, model=model, executor=executor,
                   batch_size=spec["batch_size"], seed=spec["seed"], n_samples=spec["n_samples"],
                   max_attempts=spec["max_attempts"], timeout=spec["timeout"], planner_params=params, theory=theory,
                   _store=store)

    # ------------------------------------------------------------------- run
    def run(self, budget: int | None = None, entropy_goal: float | None = None, time_limit: float | None = None,
            callbacks: Sequence[Callable[..., Any]] = (), progress: bool = True, grid_size: int = 64) -> CampaignResult:
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

    def _run(self, budget: int | None, entropy_goal: float | None, time_limit: float | None,
             callbacks: Sequence[Callable[..., Any]], progress: bool, grid_size: int) -> CampaignResult:
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
        executor = default_executor() if own else self.executor
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
                        if entropy_goal is not None and self.store.evaluations("done") and \
                                self.mean_entropy() <= entropy_goal:
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
                        raise EvaluationError(_failures(self.store, self.space), len(self.store.evaluations()),
                                              context=f"campaign on {self.system.name} ({self.store.path})")
                    self._update_theory()
                    info = {"batch": self.store.n_batches() - 1, "n_evaluations": len(self.store.evaluations()),
                            "n_failed": len(self.store.evaluations("failed")),
                            "elapsed": time.perf_counter() - started}
                    if any([bool(cb(self, info)) for cb in callbacks]):
                        reason = "callback"
                        break
        finally:
            if own:
                executor.shutdown(cancel_futures=True)
        self.store.update_manifest(stop_reason=reason)
        result = self.result(reason, grid_size)
        warn_failures(_failures(self.store, self.space), result.n_evaluations)
        return result

    def mean_entropy(self, grid_size: int = 32) -> float:
        """Mean entropy (nats) of the current map over a grid."""
        return float(self.current_map(grid_size)["entropy"].mean())

    def current_map(self, grid_size: int = 32) -> xr.Dataset:
        """The phase map fitted to every evaluation done so far (nothing is written; see :meth:`result`)."""
        return self._fitted_model().phase_map(grid_size)

    def evaluated(self) -> tuple[np.ndarray, np.ndarray]:
        """The points done so far, in the order they were asked, and the most likely phase of each."""
        done = self.store.evaluations("done")
        points = np.array([e.point for e in done]).reshape(-1, self.space.ndim)
        labels = np.asarray(self.labeler.phases)[[int(np.argmax(e.proba)) for e in done]] if done else \
            np.array([], dtype=str)
        return points, labels

    def result(self, stop_reason: str = "", grid_size: int = 64) -> CampaignResult:
        """The current phase map and evaluations (fits the model to everything done)."""
        return _result(self.store, self._fitted_model(), stop_reason, grid_size)

    # ------------------------------------------------------------- internals
    def _fitted_model(self) -> Any:
        if hasattr(self.planner, "fitted_model") and self.planner.model is self.model:
            return self.planner.fitted_model()
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
        summary = self.theory.summary() if hasattr(self.theory, "summary") else {}
        self.store.write_theory({"n_evaluations": len(done), **summary, "prior": prior})

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
            calls.append(Call(e.id, _evaluate, (self.system, self.labeler, where, self.n_samples, e.seed), where,
                              e.attempts))
        try:
            Scheduler(executor, max_attempts=self.max_attempts, timeout=self.timeout).run(
                calls, on_success, on_failure, on_attempt_failed)
        except BrokenExecutor as exc:  # e.g. a ProcessPoolExecutor after a worker died: it takes no more calls
            broken_executor_note(exc, executor, str(self.store.path))
            raise
        if results:
            ids = sorted(results)
            self.planner.tell(np.array([points[i] for i in ids]), np.array([results[i] for i in ids]))


def _result(store: RunStore, model: Any, stop_reason: str, grid_size: int, write: bool = True) -> CampaignResult:
    """Phase map and evaluations of a run; with ``write`` (the run's own writer), also ``phase_map.nc`` and
    ``map.json`` in its directory."""
    done = store.evaluations("done")
    pm = model.phase_map(grid_size)
    spec = store.manifest()
    pm.attrs.update(provenance_attrs(system=spec["system"], planner=spec["planner"], labeler=spec["labeler"],
                                     seed=spec["seed"], n_evaluations=len(store.evaluations()),
                                     n_failed=len(store.evaluations("failed")), run=str(store.path),
                                     stop_reason=stop_reason))
    if write:
        save(pm, store.path / "phase_map.nc")
        model.save(store.path / "map.json")
    points = np.array([e.point for e in done]).reshape(-1, model.space.ndim)
    proba = np.array([e.proba for e in done]).reshape(-1, len(model.phases))
    labels = np.asarray(model.phases)[proba.argmax(axis=1)] if len(proba) else np.array([], dtype=str)
    return CampaignResult(pm, points, proba, labels, store.evaluations(), store.path, model, stop_reason,
                          tuple(model.phases))


def system_from_manifest(spec: dict[str, Any], run: str | os.PathLike) -> System:
    """The run's system, rebuilt from its manifest, its files found as :func:`with_run_files` says."""
    spec = with_run_files(spec, run)
    return make_system(spec["system"]["name"], **spec["system"]["params"])


#: where a run keeps the files its system and theory read (CALPHAD databases that are not built in)
RUN_FILES = "files"


def _file_references(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every parameter dict of the manifest's system and theory (nested ones too: an Experiment's truth, a
    theory's model) that names a database file rather than a built-in database."""
    from .systems._calphad import BUILTIN_DATABASES

    def walk(value: Any) -> Iterator[dict[str, Any]]:
        if isinstance(value, dict):
            name = value.get("database")
            if isinstance(name, str) and name.lower() not in BUILTIN_DATABASES and not name.startswith("<"):
                yield value
            for item in value.values():
                yield from walk(item)

    for part in ("system", "theory"):
        if isinstance(spec.get(part), dict):
            yield from walk(spec[part].get("params"))


def with_run_files(spec: dict[str, Any], run: str | os.PathLike, database: str | os.PathLike | None = None
                   ) -> dict[str, Any]:
    """A copy of the manifest whose database files are paths this machine may read.

    A file named in the manifest is resolved relative to the run directory (a run keeps copies of its files
    in ``files/``) and refused outside it: a manifest from elsewhere must not make this machine read its
    files. ``database``, a file the user names, replaces every one the manifest names."""
    spec = copy.deepcopy(spec)
    root = Path(run).resolve()
    for params in _file_references(spec):
        if database is not None:
            params["database"] = os.fspath(database)
            continue
        path = (root / params["database"]).resolve()
        if root not in path.parents:
            raise ValueError(f"the run reads the file {params['database']!r}, outside the run directory; name it "
                             "yourself (phasemapper resume --database FILE, or Campaign.resume(run, database=...))")
        params["database"] = str(path)
    return spec


def _run_files(manifest: dict[str, Any]) -> dict[str, Path]:
    """Point the manifest's database files at copies inside the run (``files/NAME``); returns what to copy."""
    copies: dict[str, Path] = {}
    sources: dict[Path, str] = {}
    for params in _file_references(manifest):
        source = Path(params["database"]).resolve()
        if not source.is_file():
            continue
        if source not in sources:
            name = f"{RUN_FILES}/{source.name}"
            if name in copies:  # two files of one name from different folders
                name = f"{RUN_FILES}/{len(copies)}-{source.name}"
            sources[source], copies[name] = name, source
        params["database"] = sources[source]
    return copies


def _model_from_manifest(spec: dict[str, Any], phases: Sequence[str]) -> Any:
    """The run's phase-map model (unfitted) with its priors, as the manifest records them."""
    from .maps import make_map

    model = make_map(spec["model"]["name"], Space.from_dict(spec["space"]), phases, **spec["model"]["params"])
    model.priors.extend(spec["model"]["priors"])
    return model


@contextmanager
def _manifest_fields(store: RunStore) -> Iterator[dict[str, Any]]:
    """The run's manifest, checked for this package's format; a field missing from it raises ``ValueError``
    naming the field and the file instead of a ``KeyError`` from wherever it was read."""
    spec = store.manifest()
    where = repr(str(store.path / store.MANIFEST))
    if spec.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{where}: unknown manifest format {spec.get('format')!r}")
    try:
        yield spec
    except KeyError as exc:
        raise ValueError(f"{where}: field {exc} is missing") from None


def load_run(path: str | os.PathLike, grid_size: int = 64) -> CampaignResult:
    """Read a run directory without its system: refit the recorded model to the ledger's done evaluations.

    Nothing in the directory is written or changed (the ledger is opened read-only), so it may be read
    while a campaign writes it, by several readers at once, or where it cannot be written at all.
    """
    store = RunStore(path, readonly=True)
    with _manifest_fields(store) as spec:
        model = _model_from_manifest(spec, spec["phases"])
    theory = store.theory()
    if theory and "prior" in theory:  # the map as the run last had it: with the refit theory's prior
        model.priors.add(**theory["prior"])
    done = store.evaluations("done")
    if done:
        model.fit(np.array([e.point for e in done]), np.array([e.proba for e in done]))
    return _result(store, model, spec.get("stop_reason", ""), grid_size, write=False)


def _failure(e: Evaluation, space: Space) -> Failure:
    return Failure(dict(zip(space.names, map(float, e.point))), e.error or "", e.attempts, e.id)


def _failures(store: RunStore, space: Space) -> list[Failure]:
    """The ledger's evaluations that failed for good."""
    return [_failure(e, space) for e in store.evaluations("failed")]


def _evaluation_seed(seed: int, eval_id: int) -> int:
    return int(np.random.SeedSequence([seed, eval_id]).generate_state(2, np.uint64)[0] >> np.uint64(1))
