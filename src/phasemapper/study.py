"""A scan study: sample a system over a grid at several lattice sizes, locate its transitions with detectors,
compare each estimate with the system's reference transition on its line, and write it all into one directory.

``phasemapper scan`` and ``phasemapper demo`` are this function with their options parsed; from Python it is
the same call. The directory holds ``scan.nc`` (every size), ``summary.json`` (the estimates, their errors
against the reference, the failed points) and the plots. Until ``scan.nc`` is written the finished points are
kept in ``points.partial/``, so the same call after a kill samples only what is missing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import MAX_COUNT
from .systems._base import System

__all__ = ["CHECKPOINT", "scan_study", "compare_with_reference", "failure_rows"]

#: Where a study keeps finished points until ``scan.nc`` is written (inside its directory).
CHECKPOINT = "points.partial"


def scan_study(
    systems: Sequence[System],
    axes: Mapping[str, Any],
    n_samples: int,
    out: str | Path,
    *,
    seed: int = 0,
    detectors: Mapping[str, Mapping[str, Any]] | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    on_resume: Callable[[int, int, Path], None] | None = None,
) -> dict[str, Any]:
    """Scan ``systems`` (one per lattice size) over the grid of ``axes``, detect, compare, and write to ``out``.

    Parameters
    ----------
    systems : sequence of System
        The same model at each lattice size to scan (one system for a single size).
    axes : mapping of str to array-like
        The values of each axis; the grid is their product. Detectors read along the first axis that
        varies, on every line of a 2-D grid.
    n_samples : int
        Samples per point.
    out : str or Path
        The directory to write (created); another study writing it at the same time is refused.
    seed : int
        Root seed of the scan and of the detectors.
    detectors : mapping, optional
        ``{name: options}`` of :data:`phasemapper.detectors.DETECTORS` to fit (default: the physics
        observables the scan has: Binder crossings for a magnetization, the helicity jump for a helicity).
    executor : Executor, optional
        Where points are sampled (default: a process pool, one worker per core; shut down at the end).
    progress : bool
        Show progress bars.
    on_resume : callable, optional
        ``on_resume(resumed, total, checkpoint)`` when finished points were read from a killed study's checkpoint.

    Returns
    -------
    dict
        What ``summary.json`` holds: the system, sizes, axes, estimates (``critical_points``, each with its
        reference and error where the system knows one), ``failures``, ``outputs`` and, when the detectors
        did not run, ``detectors_skipped`` with the reason.

    Examples
    --------
    >>> import tempfile, phasemapper as pm
    >>> from phasemapper.study import scan_study
    >>> out = tempfile.mkdtemp()
    >>> summary = scan_study([pm.systems.Ising2D(L=4)], {"T": [2.0, 2.5]}, 20, out, executor=pm.SerialExecutor(),
    ...                      progress=False)
    >>> summary["detectors_skipped"]
    "axis 'T' has 2 values; the detectors read along at least 3"
    """
    from . import failures, save, scan_sizes
    from ._executors import default_executor
    from ._lock import hold_directory
    from .progress import show_progress

    systems = list(systems)
    if not systems or not all(isinstance(s, System) for s in systems):
        raise TypeError("systems must be a non-empty sequence of phasemapper Systems")
    values = {str(name): np.atleast_1d(np.asarray(v, dtype=float)) for name, v in axes.items()}
    if not values:
        raise ValueError("axes: give at least one axis")
    n_points = int(np.prod([v.size for v in values.values()]))
    if n_points > MAX_COUNT:
        raise ValueError(f"axes: the grid has {n_points} points, more than {MAX_COUNT}")
    mesh = np.meshgrid(*values.values(), indexing="ij")
    points = {name: m.ravel() for name, m in zip(values, mesh)}
    for s in systems:
        s.points(points)  # every point is checked before any work
    scanned = [n for n, v in values.items() if v.size > 1]
    if detectors and len(scanned) not in (1, 2):
        raise ValueError(f"detectors read along one axis of a 1-D scan or of a 2-D grid; {len(scanned)} axes vary here")
    along_too_short = bool(scanned) and values[scanned[0]].size < 3
    if along_too_short and (detectors or len(scanned) == 2):
        raise ValueError(f"axis {scanned[0]!r}: detectors read along the first axis given; give it at least 3 values")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / CHECKPOINT  # each point as it arrives: the same call after a kill resumes from here
    with hold_directory(
        out, "scan.lock", "written", "wait for that scan to finish, or give this one another output directory"
    ):
        own = executor is None
        pool: Executor = default_executor() if executor is None else executor
        try:  # every size's points in one pool, the largest size first
            datasets = scan_sizes(
                systems,
                points,
                n_samples,
                seed=seed,
                executor=pool,
                progress=progress,
                while_sampling=_import_analysis,
                checkpoint=checkpoint,
            )
        finally:
            if own:
                pool.shutdown(cancel_futures=True)  # on Ctrl-C or a failed point: do not sample the rest
        from .detectors._scans import scan_size  # the size a sizeless system's scan is keyed by

        scans: dict[int, Any] = {}
        for system, ds in zip(systems, datasets):
            size = system.size()
            scans[scan_size(ds) if size is None else size] = ds
        resumed = sum(int(ds.attrs.get("resumed_points", 0)) for ds in datasets)
        if resumed and on_resume is not None:
            on_resume(resumed, n_points * len(systems), checkpoint)
        scan_path = save(scans, out / "scan.nc")
        failed = [row for ds in datasets for row in failure_rows(failures(ds))]
        if not failed:
            shutil.rmtree(checkpoint)  # scan.nc now holds every point

        summary: dict[str, Any] = {
            "system": systems[0].name,
            "sizes": list(scans),
            "axes": {n: [float(v.min()), float(v.max()), int(v.size)] for n, v in values.items()},
            "samples": n_samples,
            "seed": seed,
            "critical_points": [],
            "outputs": {"scan": str(scan_path)},
            "n_points": n_points * len(systems),
            "failures": failed,
        }
        if failed:
            summary["detectors_skipped"] = (
                f"{len(failed)} points failed; the same command samples only them "
                "again (the others are kept in " + str(checkpoint) + ")"
            )
        elif along_too_short:
            summary["detectors_skipped"] = f"axis {scanned[0]!r} has 2 values; the detectors read along at least 3"
        elif len(scanned) in (1, 2):
            with show_progress(progress):
                _detect(summary, scans, systems[0], values, scanned, detectors, seed, out)
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        summary["outputs"]["summary"] = str(out / "summary.json")
    return summary


def failure_rows(table: Any) -> list[dict[str, Any]]:
    """Failed evaluations (a table from :func:`phasemapper.failures` or ``CampaignResult.failures``) as JSON
    rows: where, attempts, the last error."""
    return [
        {
            "point": {k: v for k, v in row.items() if k not in ("attempts", "error")},
            "attempts": int(row["attempts"]),
            "error": row["error"],
        }
        for row in table.to_dict("records")
    ]


def compare_with_reference(cp: Any, references: Sequence[Any]) -> dict[str, Any]:
    """``cp`` as a dict, with the nearest of ``references`` (the system's transitions on its line) and the
    error against it: ``exact``, ``exact_source``, ``error``, ``relative_error``, ``within_1_sigma``, ``within_2_sigma``."""
    entry = cp.to_dict()
    if references and np.isfinite(cp.value):
        exact = min(references, key=lambda r: abs(r.value - cp.value))
        entry.update(
            exact=float(exact.value),
            exact_source=exact.method,
            error=cp.value - exact.value,
            relative_error=(cp.value - exact.value) / exact.value if exact.value else None,
            within_1_sigma=cp.covers(exact.value, 1.0),
            within_2_sigma=cp.covers(exact.value, 2.0),
        )
    return entry


def _import_analysis() -> None:
    """Import the detectors, matplotlib and the netCDF backend while the workers sample (this process only
    waits then), so that the analysis after the scan does not start by importing them. A missing module is
    left for the analysis to report, after ``scan.nc`` is written."""
    try:
        import matplotlib.figure  # noqa: F401
        import netCDF4  # noqa: F401

        from . import detectors  # noqa: F401
    except ImportError:
        pass


def _detect(
    summary: dict[str, Any],
    scans: dict[int, Any],
    system: System,
    values: dict[str, np.ndarray],
    scanned: list[str],
    chosen: Mapping[str, Mapping[str, Any]] | None,
    seed: int,
    out: Path,
) -> None:
    """Fit the detectors along the first scanned axis (per line of a 2-D grid), compare each estimate with the
    system's reference transition on its line, and draw them."""
    from .detectors import DETECTORS
    from .plot import plot_boundary_estimates, plot_indicators, plot_observables

    along = scanned[0]
    fixed = {n: float(v[0]) for n, v in values.items() if v.size == 1}
    bounds = (float(values[along].min()), float(values[along].max()))
    first = next(iter(scans.values()))
    asked = chosen is not None and len(chosen) > 0
    if not asked:
        chosen = {
            name: {}
            for name in (["observables"] if "magnetization" in first else [])
            + (["helicity"] if "helicity" in first and len(scanned) == 1 else [])
        }
    fitted: dict[str, Any] = {}
    for name, options in (chosen or {}).items():
        fitted[name] = DETECTORS[name](axis=along, seed=seed, **options).fit(scans)
        summary.setdefault("detectors", {})[name] = [cp.to_dict() for cp in fitted[name].critical_points_]
        if options:
            summary.setdefault("detector_options", {})[name] = dict(options)

    references: dict[tuple, list[Any]] = {}

    def reference_on(at: dict[str, float] | None) -> list[Any]:
        line = {**fixed, **(at or {})}
        key = tuple(sorted(line.items()))
        if key not in references:
            references[key] = system.reference_transitions(along, line, bounds)
        return references[key]

    obs = fitted.get("observables")
    if obs is not None and len(scanned) == 1:
        summary["binder_crossings"] = {f"{a}/{b}": v for (a, b), v in obs.binder_crossings_.items()}
        summary["susceptibility_peaks"] = {str(L): v for L, v in obs.susceptibility_peaks_.items()}
    elif obs is not None:
        other = scanned[1]
        summary["binder_crossings"] = {
            f"{other}={value:g}": {f"{a}/{b}": v for (a, b), v in fit.binder_crossings_.items()}
            for value, fit in obs.lines_.items()
        }
        summary["susceptibility_peaks"] = {
            f"{other}={value:g}": {str(L): v for L, v in fit.susceptibility_peaks_.items()}
            for value, fit in obs.lines_.items()
        }
    if len(scanned) == 1:
        exact = [cp.value for cp in reference_on(None)]
        if obs is not None:
            plot_observables(obs, exact=exact[0] if len(exact) == 1 else None, path=out / "observables.png")
            summary["outputs"]["plot"] = str(out / "observables.png")
        if asked and fitted:
            plot_indicators(fitted, exact=exact, path=out / "detectors.png")
            summary["outputs"]["detectors_plot"] = str(out / "detectors.png")
    elif fitted:
        other_values = np.linspace(float(values[scanned[1]].min()), float(values[scanned[1]].max()), 33)
        curve = [cp for v in other_values for cp in reference_on({scanned[1]: float(v)})]
        plot_boundary_estimates(fitted, reference=curve, path=out / "boundaries.png")
        summary["outputs"]["detectors_plot"] = str(out / "boundaries.png")
    for name, det in fitted.items():
        for cp in det.critical_points_:
            summary["critical_points"].append({"detector": name, **compare_with_reference(cp, reference_on(cp.at))})
