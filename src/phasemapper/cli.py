"""The ``phasemapper`` command: thin over the Python API; bad input exits 2 with one line."""

from __future__ import annotations

import re
import shutil
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.filesize import decimal
from rich.table import Table
from typer.exceptions import TyperException

from ._checks import MAX_COUNT
from ._extras import MissingDependency, require
from ._failures import EvaluationError
from .planners import PLANNERS
from .progress import show_progress
from .study import failure_rows

#: Exit statuses: 0 done; 1 the workers cannot go on (what finished is kept); 2 bad input (one line);
#: 3 evaluations failed (none succeeded, or more than half); 130 interrupted (what finished is kept).
EXIT_WORKERS, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 1, 2, 3, 130

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: NAME=LOW:HIGH:N metavars, no type column
    help="Find phase boundaries and map phase diagrams.",
    epilog="Exit status: 0 done; 1 the workers cannot go on; 2 bad input; 3 evaluations failed (none succeeded, "
    "or more than half); 130 interrupted. Whatever finished is kept: run the same command, or resume, again.",
)
console = Console()

#: The main job run by ``phasemapper demo`` and ``make demo``.
DEMO: dict[str, Any] = {
    "system": "ising2d",
    "axes": ["T=1.8:2.8:41"],
    "sizes": "16,32,64",
    "samples": 1000,  # independent samples per point: the Binder crossing then lands within 0.5% of Onsager (tests)
    "seed": 0,
    "out": Path("runs/demo"),
}


#: ``phasemapper map``'s defaults for the options that only ``--experiment`` uses (a changed one without it is refused).
EXPERIMENT_DEFAULTS: dict[str, Any] = {"detection_limit": 0.03, "flip": 0.0, "free": "LIQUID:0,LIQUID:1"}


#: The active map that ``phasemapper demo`` adds: the open-TASEP phase diagram.
DEMO_MAP: dict[str, Any] = {"system": "tasep", "L": 100, "samples": 20, "planner": "boundary", "budget": 120}


def parse_axis(spec: str) -> tuple[str, np.ndarray]:
    """Parse ``NAME=LOW:HIGH:N`` (N evenly spaced values) or ``NAME=V1,V2,...``.

    Examples
    --------
    >>> parse_axis("T=1:2:3")[1].tolist()
    [1.0, 1.5, 2.0]
    """
    name, sep, rest = spec.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or not rest.strip():
        raise ValueError(f"--axis {spec!r}: expected NAME=LOW:HIGH:N or NAME=V1,V2,...")
    try:
        if ":" in rest:
            parts = rest.split(":")
            if len(parts) != 3:
                raise ValueError
            low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
            if not 1 <= n <= MAX_COUNT or not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError
        else:
            values = np.array([float(v) for v in rest.split(",")])
    except ValueError:  # float("bad") too: its own message would not name the option
        raise ValueError(f"--axis {spec!r}: expected NAME=LOW:HIGH:N (N an integer >= 1) or NAME=V1,V2,...") from None
    if ":" in rest:
        if n > 1 and not low < high:
            raise ValueError(f"--axis {spec!r}: LOW must be below HIGH")
        return name, np.linspace(low, high, n)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"--axis {spec!r}: values must be finite")
    if np.unique(values).size != values.size:
        raise ValueError(f"--axis {spec[:60]!r}: a value is given more than once")
    return name, values


def parse_sizes(spec: str) -> list[int]:
    """Parse ``--size 16,32,64``."""
    try:
        sizes = [int(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--size {spec!r}: expected comma-separated integers like 16,32,64") from None
    if not sizes:
        raise ValueError(f"--size {spec!r}: give at least one size")
    return sizes


def run_scan(
    system: str,
    axes: list[str],
    sizes: str | None,
    samples: int,
    seed: int,
    out: Path,
    workers: int | None = None,
    progress: bool = True,
    detect: str | None = None,
) -> dict[str, Any]:
    """``phasemapper scan``: parse the options, run :func:`phasemapper.study.scan_study`, print its summary."""
    from ._executors import default_executor
    from .study import scan_study
    from .systems import make_system

    if not axes:
        raise ValueError("--axis: give at least one axis, e.g. --axis T=1.8:2.8:41")
    _check_options(samples=samples, seed=seed, workers=workers)
    parsed = [parse_axis(a) for a in axes]
    names = [n for n, _ in parsed]
    if len(set(names)) != len(names):
        raise ValueError("--axis: an axis is given more than once")
    probe = make_system(system)
    systems = [_sized_system(system, probe.size_param, L) for L in (parse_sizes(sizes) if sizes else [None])]
    chosen = None
    if detect:  # imported only then: otherwise the detectors load while the workers sample (study._import_analysis)
        from .detectors import parse_detectors

        chosen = parse_detectors(detect)

    def resumed(count: int, total: int, checkpoint: Path) -> None:
        console.print(f"resumed: {count} of {total} points were read from {checkpoint}")

    with _out_dir(out), _kept_on_os_error(out, "run the same command again to continue"):
        executor = default_executor(workers)
        try:
            summary = scan_study(
                systems,
                dict(parsed),
                samples,
                out,
                seed=seed,
                detectors=chosen,
                executor=executor,
                progress=progress,
                on_resume=resumed,
            )
        except ValueError as exc:
            # the library names its field (axis, axes); the user typed --axis
            named, found = re.subn(r"^ax(is|es)\b", "--axis", str(exc))
            if found:
                raise ValueError(named) from None
            raise
        finally:
            executor.shutdown(cancel_futures=True)  # on Ctrl-C or a failed point: do not sample the rest
    _print_summary(summary)
    return summary


def _print_failures(rows: list[dict[str, Any]], n_total: int) -> None:
    """The failed evaluations as a table (the first 20), and how many there are."""
    table = Table(title=f"{len(rows)} of {n_total} evaluations failed")
    for col in ("point", "attempts", "error"):
        table.add_column(col, overflow="fold")
    for row in rows[:20]:
        table.add_row(", ".join(f"{k}={v:.6g}" for k, v in row["point"].items()), str(row["attempts"]), row["error"])
    if len(rows) > 20:
        table.add_row("...", "", f"and {len(rows) - 20} more")
    console.print(table)


def _exit_if_mostly_failed(n_failed: int, n_total: int) -> None:
    """Exit with status 3 when more than half of the evaluations failed (everything is written by then)."""
    if n_failed and 2 * n_failed > n_total:
        print(f"error: {n_failed} of {n_total} evaluations failed (more than half)", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['system']}: critical points")
    for col in ("method", "estimate", "uncertainty", "exact", "error"):
        table.add_column(col)
    for cp in summary["critical_points"]:
        exact = cp.get("exact")
        table.add_row(
            f"{cp['axis']} {cp['method']}"
            + (" at " + ", ".join(f"{k}={v:g}" for k, v in cp["at"].items()) if cp.get("at") else ""),
            f"{cp['value']:.5f}",
            f"{cp['uncertainty']:.5f}" if cp["uncertainty"] is not None else "-",
            f"{exact:.5f}" if exact is not None else "-",
            f"{100 * cp['relative_error']:+.3f}%" if cp.get("relative_error") is not None else "-",
        )
    if summary["critical_points"]:
        console.print(table)
    if summary.get("failures"):
        _print_failures(summary["failures"], summary["n_points"])
    if summary.get("detectors_skipped"):
        console.print(f"detectors skipped: {summary['detectors_skipped']}")
    for kind, path in summary["outputs"].items():
        console.print(f"{kind:>8}: {path}")


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        console.print(f"phasemapper {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", metavar="", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Find phase boundaries and map phase diagrams."""


@app.command("systems")
def systems_command() -> None:
    """List the systems, their axes (default bounds) and phases."""
    from .systems import make_system, registered_systems

    table = Table(title="phasemapper systems")
    table.add_column("name", no_wrap=True, min_width=max(map(len, registered_systems())))  # names are typed: whole
    for col in ("axes", "phases", "critical points", "source"):
        table.add_column(col, overflow="fold")
    for name in sorted(registered_systems()):
        s = make_system(name)
        axes = ", ".join(
            f"{a.name} [{a.low:g}, {a.high:g}]"
            + (f" (optional, default {s.optional_axes[a.name]:g})" if a.name in s.optional_axes else "")
            for a in s.space.axes
        )
        refs = "; ".join(
            f"{cp.axis} = {cp.value:.6g}"
            + (f" at {', '.join(f'{k}={v:g}' for k, v in cp.at.items())}" if cp.at else "")
            for cp in s.reference_critical_points()
        )
        table.add_row(name, axes, ", ".join(s.phases), refs or "-", s.reference or "-")
    console.print(table)


@app.command("scan")
def scan_command(
    system: Annotated[str, typer.Argument(metavar="SYSTEM", help="System name (phasemapper systems lists them).")],
    axis: Annotated[
        list[str],
        typer.Option(
            "--axis",
            metavar="NAME=LOW:HIGH:N",
            help="NAME=LOW:HIGH:N or NAME=V1,V2 (repeatable); on a 2-D "
            "grid the detectors read along the first axis given.",
        ),
    ],
    size: Annotated[str | None, typer.Option("--size", metavar="L,...", help="Lattice sizes, e.g. 16,32,64.")] = None,
    samples: Annotated[int, typer.Option("--samples", metavar="N", help="Samples per point.")] = 300,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Root seed.")] = 0,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Output directory.")] = Path("runs/scan"),
    workers: Annotated[
        int | None, typer.Option("--workers", metavar="N", help="Worker processes (default: one per core).")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", metavar="")] = True,
    detect: Annotated[
        str | None,
        typer.Option(
            "--detect",
            metavar="NAME[:KEY=VALUE],...",
            help="Detectors, comma-separated: observables, helicity, confusion, supervised, pca, "
            "divergence, fisher, learnability, optimal (default: the physics observables the scan has); "
            "options as NAME:KEY=VALUE, e.g. divergence:locate=drop:n_bootstrap=50.",
        ),
    ] = None,
) -> None:
    """Sample a system over a grid, locate its critical point(s), write scan.nc, summary.json and plots.

    Each estimate is compared with the system's reference transition on its own line.
    """
    if detect is not None:
        from .detectors import DETECTORS, parse_detectors

        for name in parse_detectors(detect):  # reject a bad list, or a missing extra, before any sampling
            require(*getattr(DETECTORS[name], "requires", ()), by=f"--detect {name}")
    summary = run_scan(system, axis, size, samples, seed, out, workers, progress, detect)
    _exit_if_mostly_failed(len(summary["failures"]), summary["n_points"])


def parse_bounds(spec: str) -> tuple[str, float, float]:
    """Parse a map axis ``NAME=LOW:HIGH``.

    Examples
    --------
    >>> parse_bounds("T=0.5:2")
    ('T', 0.5, 2.0)
    """
    name, sep, rest = spec.partition("=")
    parts = rest.split(":")
    try:
        if not sep or not name.strip().isidentifier() or len(parts) != 2:
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"--axis {spec!r}: expected NAME=LOW:HIGH") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"--axis {spec!r}: LOW and HIGH must be finite with LOW < HIGH")
    return name.strip(), low, high


def _map_space(system: Any, axes: list[str]) -> Any:
    from . import Axis, Space

    if not axes:
        return system.space
    bounds = [parse_bounds(a) for a in axes]
    names = [b[0] for b in bounds]
    if len(set(names)) != len(names):
        raise ValueError("--axis: an axis is given more than once")
    for name in names:
        if name not in system.space.names:
            raise ValueError(f"--axis {name!r}: system {system.name!r} has axes {list(system.space.names)}")
    given = {n: Axis(n, lo, hi, scale=system.space[n].scale) for n, lo, hi in bounds}  # the system's scale
    # a required axis not given keeps the system's default range; an optional one its default value
    return Space(
        [given.get(a.name, a) for a in system.space.axes if a.name in given or a.name not in system.optional_axes]
    )


@contextmanager
def _out_dir(out: Path) -> Iterator[None]:
    """Create the output directory now, so an unusable ``--out`` fails before any work; if the command then
    fails before writing anything into it (an option only the sampler or the campaign checks), remove the
    directories it created, so the corrected command can use the same ``--out``. Work written there is kept."""
    created = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out {str(out)!r}: cannot create the directory ({exc.strerror or exc})") from None
    try:
        yield
    except BaseException:
        for path in created:
            try:
                path.rmdir()  # only if empty
            except OSError:
                break
        raise


@contextmanager
def _kept_on_os_error(out: Path, advice: str) -> Iterator[None]:
    """An ``OSError`` while a scan or a run writes into ``out`` (a full disk, a directory removed under it) ends
    the command with one line that also says how much space that disk has left, that what finished is kept,
    and ``advice`` on how to continue (netCDF reports a full disk as "Permission denied", so the free space
    is the useful fact)."""
    try:
        yield
    except OSError as exc:
        if not getattr(exc, "__notes__", None):  # a failed scan point already says where and what is kept
            try:
                free = f"{decimal(shutil.disk_usage(out).free)} free on its disk; "
            except OSError:
                free = ""
            exc.add_note(f"{free}what finished is kept: {advice}")
        raise


def _check_options(**values: Any) -> None:
    """Check numeric options before any work, naming each as typed (``--samples``, not ``n_samples``);
    ``None`` is an option not given."""
    from ._checks import check_positive_int, check_positive_number, check_seed

    for name, value in values.items():
        option = "--" + name.replace("_", "-")
        if value is None:
            continue
        if name == "seed":
            check_seed(option, value)
        elif name in ("samples", "budget", "batch_size", "workers"):
            check_positive_int(option, value)
        else:
            check_positive_number(option, value, " of seconds" if name in ("time_limit", "timeout") else "")


def _sized_system(name: str, size_param: str | None, size: int | None) -> Any:
    """``make_system(name)`` at lattice size ``size``; a bad size is reported as ``--size``."""
    from .systems import make_system

    if size is None:
        return make_system(name)
    if size_param is None:
        raise ValueError(f"--size: system {name!r} has no size parameter")
    try:
        return make_system(name, **{size_param: size})
    except (TypeError, ValueError) as exc:
        if str(exc).startswith(f"{size_param} "):
            raise type(exc)(f"--size {size}: {exc}") from None
        raise


def _executor_for(dask: str | None, workers: int | None) -> tuple[Any, Any]:
    from ._executors import dask_executor, default_executor

    _check_options(workers=workers)
    if dask:
        return dask_executor(dask)
    executor = default_executor(workers)
    return executor, lambda: executor.shutdown(cancel_futures=True)


def _finish_run(result: Any) -> None:
    from .report import write_report

    png = result.path / "phase_map.png"
    result.plot(path=png)
    report = write_report(result.path)
    table = Table(title=f"campaign: {result.n_evaluations} evaluations ({result.stop_reason})")
    table.add_column("phase")
    table.add_column("evaluated points")
    table.add_column("share of the map")
    for p in result.phases:
        table.add_row(p, str(int((result.labels == p).sum())), f"{float((result.phase_map['label'] == p).mean()):.3f}")
    console.print(table)
    console.print(f"mean entropy: {float(result.phase_map['entropy'].mean()):.4f} nats")
    if result.n_failed:
        _print_failures(failure_rows(result.failures), result.n_evaluations)
    for kind, path in (("run", result.path), ("map", result.path / "phase_map.nc"), ("plot", png), ("report", report)):
        console.print(f"{kind:>8}: {path}")
    _exit_if_mostly_failed(result.n_failed, result.n_evaluations)


@app.command("map")
def map_command(
    system: Annotated[str, typer.Argument(metavar="SYSTEM", help="System name (phasemapper systems lists them).")],
    axis: Annotated[
        list[str] | None,
        typer.Option(
            "--axis",
            metavar="NAME=LOW:HIGH",
            help="NAME=LOW:HIGH (repeatable); an axis not given keeps the system's default range.",
        ),
    ] = None,
    budget: Annotated[int | None, typer.Option("--budget", metavar="N", help="Number of evaluations.")] = 100,
    planner: Annotated[str, typer.Option("--planner", metavar="NAME", help=", ".join(PLANNERS) + ".")] = "boundary",
    model: Annotated[str, typer.Option("--model", metavar="NAME", help="Phase-map model: gp or knn.")] = "gp",
    batch_size: Annotated[int | None, typer.Option("--batch-size", metavar="N", help="Evaluations per batch.")] = None,
    samples: Annotated[int | None, typer.Option("--samples", metavar="N", help="Samples per evaluation.")] = None,
    size: Annotated[int | None, typer.Option("--size", metavar="L", help="Lattice size of the system.")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Root seed.")] = 0,
    prior: Annotated[
        Path | None, typer.Option("--prior", metavar="FILE", help="JSON file of prior regions/boundaries.")
    ] = None,
    entropy_goal: Annotated[
        float | None, typer.Option("--entropy-goal", metavar="NATS", help="Stop at this mean entropy (nats).")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", metavar="SECONDS", help="Stop after this many seconds.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", metavar="SECONDS", help="Seconds one evaluation may take.")
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option("--dask", metavar="ADDRESS", help="'local' (LocalCluster) or a scheduler tcp://HOST:PORT."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", metavar="N", help="Worker processes (default: one per core).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Run directory (must not hold a run).")] = Path(
        "runs/map"
    ),
    progress: Annotated[bool, typer.Option("--progress/--no-progress", metavar="")] = True,
    experiment: Annotated[
        bool,
        typer.Option(
            "--experiment",
            metavar="",
            help="calphad: measure with an Experiment around the database and refit the theory in the loop.",
        ),
    ] = False,
    components: Annotated[
        str | None, typer.Option("--components", metavar="A,B", help="calphad with your own TDB: A,B.")
    ] = None,
    detection_limit: Annotated[
        float, typer.Option("--detection-limit", metavar="FRACTION", help="Experiment: smallest phase fraction seen.")
    ] = EXPERIMENT_DEFAULTS["detection_limit"],
    flip: Annotated[
        float, typer.Option("--flip", metavar="P", help="Experiment: probability a reported assemblage is wrong.")
    ] = EXPERIMENT_DEFAULTS["flip"],
    free: Annotated[
        str, typer.Option("--free", metavar="PHASE:ORDER,...", help="Theory: free Redlich-Kister terms PHASE:ORDER,...")
    ] = EXPERIMENT_DEFAULTS["free"],
    perturb: Annotated[
        str | None,
        typer.Option(
            "--perturb",
            metavar="NAME=J/MOL,...",
            help="Theory: starting offsets NAME=J/mol,... (the theory starts wrong by these).",
        ),
    ] = None,
    theory: Annotated[
        bool,
        typer.Option(
            "--theory/--no-theory", metavar="", help="With --experiment: refit the CALPHAD theory in the loop."
        ),
    ] = True,
    reference: Annotated[
        str | None,
        typer.Option("--reference", metavar="NAME", help="library: reference labels to score against (FMI, ARI)."),
    ] = None,
    property_name: Annotated[
        str | None,
        typer.Option("--property", metavar="NAME", help="library: the per-sample property to model with the regions."),
    ] = None,
) -> None:
    """Map a phase diagram with few evaluations; writes a resumable run directory, plot and report.

    SYSTEM calphad:pbsn, calphad:bisn or calphad:PATH.tdb maps a binary CALPHAD diagram; with
    --experiment each evaluation is a simulated measurement and the theory is refit in the loop.
    SYSTEM library:fegapd or library:PATH (.mat, .h5, .csv, .nc) maps a combinatorial library's
    phase regions by measuring few of its samples (planners: boundary, entropy, random, sobol).
    """
    from . import Campaign
    from .maps import load_priors
    from .systems import make_system

    if system.lower().startswith("library:"):
        given = {
            "--axis": bool(axis),
            "--samples": samples is not None,
            "--size": size is not None,
            "--experiment": experiment,
            "--entropy-goal": entropy_goal is not None,
            "--time-limit": time_limit is not None,
            "--timeout": timeout is not None,
            "--dask": dask is not None,
            "--workers": workers is not None,
            "--components": components is not None,
        }
        for option in (o for o, used in given.items() if used):
            raise ValueError(f"{option}: not for library systems")
        _check_options(budget=budget, batch_size=batch_size, seed=seed)
        _map_library(
            system.split(":", 1)[1], budget, planner, model, batch_size, seed, prior, out, reference, property_name
        )
        return
    for option, value in (("--reference", reference), ("--property", property_name)):
        if value is not None:
            raise ValueError(f"{option}: only for library:SOURCE systems")

    # everything the user typed is checked before the run directory is created, so a typo leaves nothing behind
    _check_options(
        budget=budget,
        entropy_goal=entropy_goal,
        time_limit=time_limit,
        timeout=timeout,
        batch_size=batch_size,
        samples=samples,
        seed=seed,
        workers=workers,
    )
    calphad = system.lower().startswith("calphad:")
    if calphad:
        require("pycalphad", by="calphad systems")
    if not experiment:
        values = {"detection_limit": detection_limit, "flip": flip, "free": free}
        given = {f"--{k.replace('_', '-')}": v != EXPERIMENT_DEFAULTS[k] for k, v in values.items()}
        given.update({"--perturb": perturb is not None, "--no-theory": not theory})
        for option in (o for o, used in given.items() if used):
            raise ValueError(f"{option}: only with --experiment (a calphad:DATABASE system)")
    if components is not None and not calphad:
        raise ValueError("--components: only for calphad:DATABASE systems")
    theory_obj = None
    if calphad:
        sys_obj, theory_obj = _calphad_setup(
            system.split(":", 1)[1], components, experiment, detection_limit, flip, free, perturb, theory
        )
    else:
        if experiment:
            raise ValueError("--experiment: only for calphad:DATABASE systems")
        sys_obj = _sized_system(system, make_system(system).size_param, size)
    space = _map_space(sys_obj, axis or [])
    priors = load_priors(prior) if prior is not None else None
    if planner not in PLANNERS:
        raise ValueError(f"--planner {planner!r}: choose {', '.join(PLANNERS)}")
    executor, close = _executor_for(dask, workers)
    try:
        with _out_dir(out):
            campaign = Campaign(
                sys_obj,
                space,
                planner=planner,
                model=model,
                store=out,
                batch_size=batch_size,
                seed=seed,
                n_samples=samples,
                timeout=timeout,
                priors=priors,
                executor=executor,
                theory=theory_obj,
            )
        with _kept_on_os_error(out, f"run `phasemapper resume {out}` to continue"):
            result = campaign.run(budget=budget, entropy_goal=entropy_goal, time_limit=time_limit, progress=progress)
    finally:
        close()
    with show_progress(progress):
        if theory_obj is not None:
            _theory_summary(theory_obj, campaign.store)
        _finish_run(result)


def _map_library(
    source: str,
    budget: int | None,
    planner: str,
    model: str,
    batch_size: int | None,
    seed: int,
    prior: Path | None,
    out: Path,
    reference: str | None,
    property_name: str | None,
) -> None:
    """``map library:SOURCE``: a LibraryCampaign into ``out`` (continued if ``out`` holds the same run)."""
    import warnings

    from . import LibraryCampaign
    from ._library_campaign import LEDGER
    from .maps import load_priors
    from .report import write_report
    from .systems import library_from_spec

    library = library_from_spec(source)
    if reference is None and "dft_region" in library.dataset:
        reference = "dft_region"
    if property_name is None:
        property_name = next((p for p in library.properties if p != reference), None)
    elif property_name not in library.properties:
        raise ValueError(f"--property {property_name!r}: the library has {list(library.properties)}")
    priors = load_priors(prior) if prior is not None else None
    resuming = (out / LEDGER).exists()
    with _out_dir(out):
        campaign = LibraryCampaign(
            library,
            planner=planner,
            model=model,
            batch_size=batch_size or 8,
            seed=seed,
            priors=priors,
            reference=reference,
            store=out,
        )
    if resuming:
        console.print(f"continuing the run in {out} ({len(campaign.measured)} samples measured)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _kept_on_os_error(out, f"run the same command again to continue the run in {out}"):
            result = campaign.run(budget=budget or 80)
    if result.model is not None and property_name is not None:
        result.fit_property(property_name)
        result.save(out / "library_map.nc")
    report = write_report(out)
    png = out / "library.png"
    if result.model is not None:
        from .plot import plot_library

        plot_library(result, path=png)
    ds = result.dataset
    if "label" in ds:
        table = Table(title=f"library: {result.n_measured} of {ds.sizes['sample']} samples measured")
        table.add_column("region")
        table.add_column("samples")
        table.add_column("measured")
        for region in ds["region"].values:
            mine = ds["label"].values == region
            table.add_row(str(region), str(int(mine.sum())), str(int((mine & ds["measured"].values).sum())))
        console.print(table)
    else:
        console.print(f"{result.n_measured} of {ds.sizes['sample']} samples measured; no regions: {ds.attrs['reason']}")
    if reference is not None and "fmi" in ds and np.isfinite(ds["fmi"].values[-1]):
        console.print(f"agreement with {reference}: FMI {ds['fmi'].values[-1]:.3f}, ARI {ds['ari'].values[-1]:.3f}")
    if result.n_failed:
        console.print(f"[red]{result.n_failed} sample(s) could not be measured[/red]: " + str(caught[-1].message))
    written = (("run", out), ("map", out / "library_map.nc"), ("plot", png), ("report", report))
    for kind, path in written:
        if path.exists():
            console.print(f"{kind:>8}: {path}")


def _calphad_setup(
    database: str,
    components: str | None,
    experiment: bool,
    detection_limit: float,
    flip: float,
    free: str,
    perturb: str | None,
    theory: bool,
) -> tuple[Any, Any]:
    """The system (a Calphad database, or an Experiment around it) and the theory for `map calphad:...`."""
    from .systems import Calphad, Experiment
    from .theory import CalphadTheory

    comps = None if components is None else [c.strip() for c in components.split(",")]
    truth = Calphad(database, comps)
    if not experiment:
        return truth, None
    system = Experiment(truth, detection_limit=detection_limit, flip=flip)
    if not theory:
        return system, None
    free_params = []
    for item in filter(None, (f.strip() for f in free.split(","))):
        phase, _, order = item.partition(":")
        if not order.isdigit():
            raise ValueError(f"--free {item!r}: expected PHASE:ORDER, e.g. LIQUID:0")
        free_params.append({"phase": phase.upper(), "order": int(order)})
    start = {}
    for item in filter(None, (p.strip() for p in (perturb or "").split(","))):
        name, _, value = item.partition("=")
        try:
            start[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--perturb {item!r}: expected NAME=J/mol, e.g. L0_LIQUID=1500") from None
    model = Calphad(database, comps, free_parameters=free_params, parameters=start)
    return system, CalphadTheory(model, detection_limit=detection_limit, flip=max(flip, 0.02))


def _theory_summary(theory: Any, store: Any) -> None:
    """Print the refit parameters and the eutectic of the refit diagram, as the run's theory.json records them."""
    summary = store.theory()
    if summary is None:  # no experiment finished: nothing was refit
        return
    t_e, x_e = summary["features"]["eutectic_T"], summary["features"]["eutectic_x"]
    table = Table(title=f"theory refit after {summary['n_evaluations']} experiments")
    for col in ("parameter", "start", "estimate", "1 sd"):
        table.add_column(col)
    for k, v in summary["parameters"].items():
        table.add_row(k, f"{summary['start'][k]:.0f}", f"{v:.0f}", f"{summary['sd'][k]:.0f}")
    console.print(table)
    comp = theory.model.space.names[0]
    console.print(f"eutectic of the refit diagram: T = {t_e:.1f} K ({t_e - 273.15:.1f} C), {comp} = {x_e:.3f}")


@app.command("resume")
def resume_command(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory written by phasemapper map.")],
    budget: Annotated[
        int | None, typer.Option("--budget", metavar="N", help="New total budget (default: the run's own).")
    ] = None,
    dask: Annotated[
        str | None, typer.Option("--dask", metavar="ADDRESS", help="'local' or a scheduler tcp://HOST:PORT.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", metavar="N", help="Worker processes (default: one per core).")
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", metavar="", help="Show progress bars.")] = True,
    database: Annotated[
        Path | None,
        typer.Option(
            "--database",
            metavar="FILE",
            help="calphad runs: a TDB file to read "
            "instead of the copy the run keeps (a run from elsewhere naming a file outside it).",
        ),
    ] = None,
) -> None:
    """Continue a run (killed or finished) to its budget, with nothing lost or evaluated twice."""
    from . import Campaign
    from ._library_report import is_library_run

    _check_options(budget=budget, workers=workers)
    if is_library_run(run):
        from . import LibraryCampaign
        from .report import write_report

        library_result = LibraryCampaign.resume(run).run(budget=budget)
        report = write_report(run)
        console.print(f"library run {run}: {library_result.n_measured} samples measured; report: {report}")
        return
    campaign = Campaign.resume(run, database=database)
    executor, close = _executor_for(dask, workers)
    campaign.executor = executor
    try:
        with _kept_on_os_error(run, f"run `phasemapper resume {run}` again to continue"):
            result = campaign.run(budget=budget, progress=progress)
    finally:
        close()
    with show_progress(progress):
        _finish_run(result)


def _reader_output(run: Path, out: Path | None, name: str) -> Path:
    """Where a reader of ``run`` writes: ``out``, else ``RUN-NAME-name`` in the current directory (never the run)."""
    return out if out is not None else Path(f"{run.resolve().name}-{name}")


@app.command("plot")
def plot_command(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory (read, never written).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="Image to write (default: RUN-NAME-phase_map.png in the current directory)."
        ),
    ] = None,
) -> None:
    """Draw the phase map, its uncertainty and the evaluated points in order."""
    from ._result import load_run

    result = load_run(run)
    png = _reader_output(run, out, "phase_map.png")
    result.plot(path=png)
    console.print(str(png))


@app.command("report")
def report_command(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run directory (read, never written).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="HTML file to write (default: RUN-NAME-report.html in the current directory)."
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run."""
    from .report import write_report

    console.print(str(write_report(run, _reader_output(run, out, "report.html"))))


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Output directory.")] = DEMO["out"],
    progress: Annotated[bool, typer.Option("--progress/--no-progress", metavar="")] = True,
) -> None:
    """Run the main job on built-in defaults: locate the 2-D Ising Tc from L = 16, 32, 64."""
    console.print(
        f"[bold]phasemapper demo[/bold]: {DEMO['system']} {' '.join(DEMO['axes'])} sizes {DEMO['sizes']}, "
        f"{DEMO['samples']} samples per point, seed {DEMO['seed']}"
    )
    run_scan(DEMO["system"], DEMO["axes"], DEMO["sizes"], DEMO["samples"], DEMO["seed"], out, None, progress)

    from . import Campaign
    from .systems import make_system

    spec = DEMO_MAP
    console.print(
        f"[bold]active map[/bold]: {spec['system']} (alpha, beta), planner {spec['planner']}, "
        f"budget {spec['budget']} evaluations"
    )
    run_dir = out / "map-tasep"
    shutil.rmtree(run_dir, ignore_errors=True)  # the demo owns this directory
    campaign = Campaign(
        make_system(spec["system"], L=spec["L"]),
        planner=spec["planner"],
        store=run_dir,
        n_samples=spec["samples"],
        seed=DEMO["seed"],
    )
    with show_progress(progress):
        _finish_run(campaign.run(budget=spec["budget"], progress=progress))
    console.print(f"[green]demo finished[/green]; outputs are in {out.resolve()}")


def _show_warning_on_one_line(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print a warning as the CLI prints errors: one line on stderr, without Python's source line."""
    print("warning: " + " ".join(str(message).split()), file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; ValueError/TypeError/OSError and usage errors print one line and exit 2."""
    try:
        with warnings.catch_warnings():  # restores the default display when main returns (tests call it in-process)
            warnings.showwarning = _show_warning_on_one_line
            code = app(
                args=argv, standalone_mode=False
            )  # outside standalone mode Typer returns exit codes, Ctrl-C's too
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except TyperException as exc:  # usage errors: unknown option, bad value type, ...
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare ``phasemapper``: the help is the message
            print(exc.format_message())
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except (ValueError, TypeError, OSError) as exc:  # bad input, or an output path that cannot be written
        message = "; ".join([str(exc), *getattr(exc, "__notes__", [])])  # notes say where, and what is kept
        print("error: " + " ".join(message.split()), file=sys.stderr)  # one line, whatever the message
        sys.exit(EXIT_BAD_INPUT)
    except MissingDependency as exc:  # an optional extra is not installed: say which
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    except EvaluationError as exc:  # nothing succeeded: each distinct error, its count and first point
        lines = [" ".join(line.split()) for line in str(exc).splitlines()]
        print("error: " + "\n  ".join([lines[0], *lines[1:], *getattr(exc, "__notes__", [])]), file=sys.stderr)
        sys.exit(EXIT_FAILED)
    except BrokenProcessPool as exc:  # workers kept dying (e.g. out of memory): not the input, and no traceback helps
        notes = "; ".join(getattr(exc, "__notes__", []))
        print(f"error: {notes or exc}; what finished is kept: run the same command again to continue", file=sys.stderr)
        sys.exit(EXIT_WORKERS)
    if code == EXIT_INTERRUPTED:  # KeyboardInterrupt
        print(
            "interrupted; what finished is kept: run the same scan command again, or `phasemapper resume OUT` "
            "for a map, to continue",
            file=sys.stderr,
        )
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
