"""A run's manifest: how a campaign is recorded in its run directory and rebuilt from it.

The manifest names every part by its registry name with its parameters (:class:`~phasemapper._params.Parameterized`),
so a run resumes, and is read, on another machine with nothing but the run directory. Files a part reads (a
CALPHAD database) are copied into the run and resolved inside it.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._provenance import package_versions, run_context
from ._space import Space
from ._store import RunStore
from .systems._base import System, make_system

__all__ = [
    "MANIFEST_FORMAT",
    "campaign_manifest",
    "campaign_arguments",
    "model_from_manifest",
    "system_from_manifest",
    "with_run_files",
    "run_files",
    "file_references",
    "manifest_fields",
    "RUN_FILES",
]

MANIFEST_FORMAT = 1


def campaign_manifest(campaign: Any) -> dict[str, Any]:
    """What a run directory records of ``campaign``: each part by its registry name and parameters, the
    settings, the package versions and where it ran."""
    from .labelers import labeler_spec
    from .maps import MAPS
    from .planners import PLANNERS
    from .theory import theory_spec

    return {
        "format": MANIFEST_FORMAT,
        "system": {"name": campaign.system.name, "params": campaign.system.params()},
        "space": campaign.space.to_dict(),
        "phases": list(campaign.labeler.phases),
        "planner": {
            "name": PLANNERS.name_of(campaign.planner),
            "params": {k: v for k, v in campaign.planner.params().items() if k not in ("phases",)},
        },
        "labeler": labeler_spec(campaign.labeler),
        "model": {
            "name": MAPS.name_of(campaign.model),
            "params": campaign.model.params(),
            "priors": campaign.model.priors.to_list(),
        },
        "seed": campaign.seed,
        "batch_size": campaign.batch_size,
        "n_samples": campaign.n_samples,
        "max_attempts": campaign.max_attempts,
        "timeout": campaign.timeout,
        "theory": None if campaign.theory is None else theory_spec(campaign.theory),
        "versions": package_versions(),
        "provenance": run_context(),
        "run": {},
    }


def campaign_arguments(
    store: RunStore, spec: dict[str, Any], system: System | None = None, labeler: Any = None
) -> dict[str, Any]:
    """The arguments that rebuild a run's :class:`~phasemapper.Campaign` from its manifest ``spec``: the parts
    registered by name are rebuilt, ``system`` and ``labeler`` (your own) are taken as given."""
    from .labelers import make_labeler
    from .theory import make_theory

    if system is None:
        from .systems import registered_systems

        name = spec["system"]["name"]
        if str(name).lower() not in registered_systems():
            raise ValueError(
                f"the run's system {name!r} is not a registered one (a FunctionSystem, or a class of "
                f"your own): pass it, Campaign.resume({str(store.path)!r}, system=...)"
            )
        try:
            system = make_system(name, **spec["system"]["params"])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"cannot rebuild system {spec['system']['name']!r} from the manifest ({exc}); pass system="
            ) from None
    if labeler is None:
        lab = spec["labeler"]
        if lab["name"] is None:
            raise ValueError("the run's labeler is not a registered one; pass labeler=")
        labeler = make_labeler(lab["name"], **lab["params"])
    space = Space.from_dict(spec["space"])
    model = model_from_manifest(spec, labeler.phases)
    from .planners import PLANNERS

    if spec["planner"]["name"] is None:
        raise ValueError("the run's planner is not a registered one; it cannot be resumed from the manifest")
    planner = PLANNERS.key(spec["planner"]["name"])
    params = dict(spec["planner"]["params"])
    theory = None
    if spec.get("theory"):
        if spec["theory"]["name"] is None:
            raise ValueError("the run's theory is not a registered one; it cannot be resumed from the manifest")
        theory = make_theory(spec["theory"]["name"], **spec["theory"]["params"])
    return {
        "system": system,
        "space": space,
        "planner": planner,
        "labeler": labeler,
        "model": model,
        "batch_size": spec["batch_size"],
        "seed": spec["seed"],
        "n_samples": spec["n_samples"],
        "max_attempts": spec["max_attempts"],
        "timeout": spec["timeout"],
        "planner_params": params,
        "theory": theory,
    }


def model_from_manifest(spec: dict[str, Any], phases: Sequence[str]) -> Any:
    """The run's phase-map model (unfitted) with its priors, as the manifest records them."""
    from .maps import make_map

    model = make_map(spec["model"]["name"], Space.from_dict(spec["space"]), phases, **spec["model"]["params"])
    model.priors.extend(spec["model"]["priors"])
    return model


def system_from_manifest(spec: dict[str, Any], run: str | os.PathLike) -> System:
    """The run's system, rebuilt from its manifest, its files found as :func:`with_run_files` says."""
    spec = with_run_files(spec, run)
    return make_system(spec["system"]["name"], **spec["system"]["params"])


#: where a run keeps the files its system and theory read (CALPHAD databases that are not built in)
RUN_FILES = "files"


def file_references(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
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


def with_run_files(
    spec: dict[str, Any], run: str | os.PathLike, database: str | os.PathLike | None = None
) -> dict[str, Any]:
    """A copy of the manifest whose database files are paths this machine may read.

    A file named in the manifest is resolved relative to the run directory (a run keeps copies of its files
    in ``files/``) and refused outside it: a manifest from elsewhere must not make this machine read its
    files. ``database``, a file the user names, replaces every one the manifest names."""
    spec = copy.deepcopy(spec)
    root = Path(run).resolve()
    for params in file_references(spec):
        if database is not None:
            params["database"] = os.fspath(database)
            continue
        path = (root / params["database"]).resolve()
        if root not in path.parents:
            raise ValueError(
                f"the run reads the file {params['database']!r}, outside the run directory; name it "
                "yourself (phasemapper resume --database FILE, or Campaign.resume(run, database=...))"
            )
        params["database"] = str(path)
    return spec


def run_files(manifest: dict[str, Any]) -> dict[str, Path]:
    """Point the manifest's database files at copies inside the run (``files/NAME``); returns what to copy."""
    copies: dict[str, Path] = {}
    sources: dict[Path, str] = {}
    for params in file_references(manifest):
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


@contextmanager
def manifest_fields(store: RunStore) -> Iterator[dict[str, Any]]:
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
