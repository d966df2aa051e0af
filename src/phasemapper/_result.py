"""What a campaign returns, and reading a run directory without its system."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._failures import Failure, failure_table
from ._io import save
from ._manifest import manifest_fields, model_from_manifest
from ._provenance import provenance_attrs
from ._space import Space
from ._store import Evaluation, RunStore

__all__ = ["CampaignResult", "load_run", "run_result", "failures_of"]


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
        return failure_table([failure_of(e, self.model.space) for e in self.evaluations if e.status == "failed"])

    def boundaries(self, grid_size: int = 64, band: float = 0.5) -> list[dict[str, Any]]:
        return self.model.boundaries(grid_size, band)

    def _summary(self) -> list[tuple[str, str]]:
        """What a repr shows: the run's size and outcome, the map's phases and uncertainty, where it is."""
        shares = ", ".join(f"{p} {float((self.phase_map['label'] == p).mean()):.0%}" for p in self.phases)
        done = len(self.points)
        return [
            ("evaluations", f"{self.n_evaluations} ({done} done, {self.n_failed} failed)"),
            ("stopped by", self.stop_reason or "(not finished)"),
            ("map", f"{shares}; mean entropy {float(self.phase_map['entropy'].mean()):.3g} nats"),
            ("axes", ", ".join(f"{a.name} [{a.low:g}, {a.high:g}]" for a in self.model.space.axes)),
            ("run", str(self.path)),
        ]

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


def run_result(store: RunStore, model: Any, stop_reason: str, grid_size: int, write: bool = True) -> CampaignResult:
    """Phase map and evaluations of a run; with ``write`` (the run's own writer), also ``phase_map.nc`` and
    ``map.json`` in its directory."""
    done = store.evaluations("done")
    pm = model.phase_map(grid_size)
    spec = store.manifest()
    pm.attrs.update(
        provenance_attrs(
            system=spec["system"],
            planner=spec["planner"],
            labeler=spec["labeler"],
            seed=spec["seed"],
            n_evaluations=len(store.evaluations()),
            n_failed=len(store.evaluations("failed")),
            run=str(store.path),
            stop_reason=stop_reason,
        )
    )
    if write:
        save(pm, store.path / "phase_map.nc")
        model.save(store.path / "map.json")
    points = np.array([e.point for e in done]).reshape(-1, model.space.ndim)
    proba = np.array([e.proba for e in done]).reshape(-1, len(model.phases))
    labels = np.asarray(model.phases)[proba.argmax(axis=1)] if len(proba) else np.array([], dtype=str)
    return CampaignResult(
        pm, points, proba, labels, store.evaluations(), store.path, model, stop_reason, tuple(model.phases)
    )


def load_run(path: str | os.PathLike, grid_size: int = 64) -> CampaignResult:
    """Read a run directory without its system: refit the recorded model to the ledger's done evaluations.

    Nothing in the directory is written or changed (the ledger is opened read-only), so it may be read
    while a campaign writes it, by several readers at once, or where it cannot be written at all.
    """
    store = RunStore(path, readonly=True)
    with manifest_fields(store) as spec:
        model = model_from_manifest(spec, spec["phases"])
    theory = store.theory()
    if theory and "prior" in theory:  # the map as the run last had it: with the refit theory's prior
        model.priors.add(**theory["prior"])
    done = store.evaluations("done")
    if done:
        model.fit(np.array([e.point for e in done]), np.array([e.proba for e in done]))
    return run_result(store, model, spec.get("stop_reason", ""), grid_size, write=False)


def failure_of(e: Evaluation, space: Space) -> Failure:
    return Failure(dict(zip(space.names, map(float, e.point))), e.error or "", e.attempts, e.id)


def failures_of(store: RunStore, space: Space) -> list[Failure]:
    """The ledger's evaluations that failed for good."""
    return [failure_of(e, space) for e in store.evaluations("failed")]
