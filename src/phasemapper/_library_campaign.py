"""Autonomous mapping of a materials library: measure, find the regions, refit, choose the next samples."""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._atomic import write_atomically
from ._checks import check_positive_int, check_seed
from .systems._library import Library

__all__ = ["LibraryCampaign", "LibraryResult", "region_names"]

#: samples needed before the patterns are clustered
MIN_TO_CLUSTER = 4
LEDGER = "ledger.json"
#: share of a region's samples the clustering may put elsewhere (boundaries, noise): a region prior
#: whose samples split more than this is doubted (LibraryCampaign._prior_weights)
CLUSTER_ERROR = 0.1
MEASURED = "measured.nc"
RESULT = "library_map.nc"


def region_names(k: int) -> list[str]:
    """``["R1", ..., "Rk"]``: names of regions found without supervision."""
    return [f"R{i + 1}" for i in range(k)]


class LibraryCampaign:
    """Map a library's phase regions by measuring few of its samples, as CAMEO does.

    After every batch the measured patterns are clustered (``labeler``, by default a
    :class:`~phasemapper.labelers.SpectraLabeler`), a phase map (``model``) is fitted to the
    regions of the measured compositions and predicts the region of every unmeasured sample, and
    the planner, restricted to the unmeasured samples by :class:`~phasemapper.planners.Pool`,
    chooses the next batch. The first ``n_initial`` samples are space-filling (Sobol, moved to the
    nearest samples); fewer where region priors already state the phase.

    Priors are stated in compositions: ``{"region": [[Fe, Ga, Pd], ...], "phase": "bcc",
    "certainty": 0.8}`` says the samples inside the polygon share one region. After each batch the
    patterns are clustered without priors; each region prior is then believed with the posterior
    probability that its measured samples share a region (its certainty the prior odds, a
    clustering error of 10% allowed), which links those samples in a second clustering and names the
    region the map shows inside the polygon; a prior the patterns contradict is so switched off.
    Until a sample is measured inside, the prior only thins the space-filling start. Boundary priors
    (``{"boundary": [...], "certainty": ..., "width": ...}``) steer the planner directly.

    A measurement that raises is tried ``max_attempts`` times, then recorded as failed (counted,
    warned about, never asked again). With a ``store`` directory every batch's measurements are
    written atomically (``measured.nc``, ``ledger.json``); a run killed at any moment resumes from
    them with nothing measured twice.

    Parameters
    ----------
    library : Library
    planner : {"boundary", "entropy", "random", "sobol"}
    labeler : SpectraLabeler, optional
    model : str
        Phase-map model name (``"gp"`` or ``"knn"``).
    batch_size, n_initial : int
    seed : int
    priors : list of dict, optional
    reference : str, optional
        A ``(sample,)`` variable of the library with reference labels (``"dft_region"``): the
        agreement of the map with it (FMI, ARI) is recorded after each batch.
    store : path, optional
    max_attempts : int

    Examples
    --------
    >>> from phasemapper import LibraryCampaign
    >>> from phasemapper.datasets import fegapd
    >>> from phasemapper.systems import Library
    >>> run = LibraryCampaign(Library(fegapd()), reference="dft_region", seed=0)
    >>> result = run.run(budget=32)
    >>> result.n_measured, result.history["n_measured"].values.tolist()
    (32, [0, 8, 16, 24, 32])
    """

    def __init__(
        self,
        library: Library,
        *,
        planner: str = "boundary",
        labeler: Any = None,
        model: str = "gp",
        batch_size: int = 8,
        n_initial: int | None = None,
        seed: int = 0,
        priors: Sequence[dict[str, Any]] | None = None,
        reference: str | None = None,
        store: str | Path | None = None,
        max_attempts: int = 3,
    ) -> None:
        from .labelers import SpectraLabeler
        from .maps import MAPS
        from .planners import MAP_PLANNERS, PLANNERS

        if not isinstance(library, Library):
            raise TypeError(f"library must be a phasemapper.systems.Library, got {type(library).__name__}")
        self.library = library
        self.space = library.space
        key = PLANNERS.key(planner) if isinstance(planner, str) else None
        if key not in (*MAP_PLANNERS, "random", "sobol"):
            raise ValueError(f"planner: expected one of boundary, entropy, random, sobol, got {planner!r}")
        self.planner = key
        self.labeler = SpectraLabeler() if labeler is None else labeler
        if not hasattr(self.labeler, "fit") or not hasattr(self.labeler, "get_params"):
            raise TypeError(f"labeler must be a SpectraLabeler-like estimator, got {type(self.labeler).__name__}")
        MAPS.key(model)
        self.model = model
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.n_initial = (
            4 * 2**self.space.unit_ndim if n_initial is None else check_positive_int("n_initial", n_initial, 2)
        )
        self.seed = check_seed("seed", seed)
        self.priors = [dict(p) for p in (priors or [])]
        self._check_priors()
        if reference is not None and reference not in library.dataset:
            raise ValueError(f"reference: the library has no variable {reference!r}")
        self.reference = reference
        self.max_attempts = check_positive_int("max_attempts", max_attempts)
        self.store = None if store is None else Path(store)
        self.measured: list[int] = []
        self.failed: dict[int, str] = {}
        self._patterns: dict[int, np.ndarray] = {}
        self._rows: list[dict[str, float]] = []
        self.budget: int | None = None
        if self.store is not None:
            self._resume()

    def _check_priors(self) -> None:
        """Raise naming the prior and its field, as a phase map's priors would."""
        from .maps import Priors

        named = sorted({str(p.get("phase")) for p in self.priors if "region" in p})
        Priors(self.space, [*named, "(any other region)"]).extend(self.priors)

    # -------------------------------------------------------------- state
    def _params(self) -> dict[str, Any]:
        return {
            "library": self.library.source,
            "planner": self.planner,
            "labeler": {k: v for k, v in self.labeler.get_params().items()},
            "model": self.model,
            "batch_size": self.batch_size,
            "n_initial": self.n_initial,
            "seed": self.seed,
            "priors": self.priors,
            "reference": self.reference,
            "samples": len(self.library.candidates),
        }

    def _resume(self) -> None:
        assert self.store is not None
        ledger = self.store / LEDGER
        if not ledger.exists():
            return
        saved = json.loads(ledger.read_text())
        if saved["params"] != json.loads(json.dumps(self._params())):
            raise ValueError(f"store: {str(self.store)!r} holds a run with other settings; use another directory")
        with xr.open_dataset(self.store / MEASURED) as ds:
            patterns = ds["xrd"].values
            order = [int(i) for i in ds["sample"].values]
        self.measured = [int(i) for i in saved["measured"]]
        if order != self.measured:
            raise ValueError(f"store: {MEASURED} and {LEDGER} disagree; the run directory is damaged")
        self._patterns = dict(zip(self.measured, patterns))
        self.failed = {int(k): v for k, v in saved["failed"].items()}
        self._rows = saved["history"]
        self.budget = saved.get("budget")

    @classmethod
    def resume(cls, store: str | Path) -> LibraryCampaign:
        """The campaign whose measurements and settings ``store`` holds (its library read again from
        the source it was made from: ``"fegapd"`` or a file)."""
        from .labelers import SpectraLabeler
        from .systems._library import library_from_spec

        ledger = Path(store) / LEDGER
        if not ledger.exists():
            raise ValueError(f"store: {str(store)!r} holds no library run ({LEDGER} is missing)")
        params = json.loads(ledger.read_text())["params"]
        if params.get("library") is None:
            raise ValueError("store: the run's library was given as a Dataset; rebuild the campaign with it")
        return cls(
            library_from_spec(params["library"]),
            planner=params["planner"],
            labeler=SpectraLabeler(**params["labeler"]),
            model=params["model"],
            batch_size=params["batch_size"],
            n_initial=params["n_initial"],
            seed=params["seed"],
            priors=params["priors"],
            reference=params["reference"],
            store=store,
        )

    def _save(self) -> None:
        if self.store is None:
            return
        self.store.mkdir(parents=True, exist_ok=True)
        patterns = np.array([self._patterns[i] for i in self.measured]).reshape(len(self.measured), -1)
        ds = xr.Dataset(
            {"xrd": (("sample", "two_theta"), patterns)},
            coords={"sample": np.array(self.measured, dtype=int), "two_theta": self.library.two_theta},
        )
        write_atomically(self.store / MEASURED, lambda tmp: ds.to_netcdf(tmp))
        ledger = {
            "params": self._params(),
            "budget": self.budget,
            "measured": self.measured,
            "failed": self.failed,
            "history": self._rows,
        }
        write_atomically(self.store / LEDGER, lambda tmp: tmp.write_text(json.dumps(ledger)))

    # -------------------------------------------------------------- loop
    def run(self, budget: int | None = None) -> LibraryResult:
        """Measure until ``budget`` samples are measured (or none is left); return the map.
        A resumed run's budget defaults to the one it was started with."""
        if budget is None and self.budget is None:
            raise ValueError("budget: give the number of samples to measure")
        budget = check_positive_int("budget", self.budget if budget is None else budget)
        self.budget = budget
        while True:  # one analysis per set of measurements, the last one's included
            state = self._analyse()
            self._record(state)
            free = len(self.library.candidates) - len(self.measured) - len(self.failed)
            n = min(self.batch_size, budget - len(self.measured), free)
            chosen = self._ask(state, n) if n > 0 else np.empty((0, self.space.ndim))
            if not len(chosen):
                break
            self._measure(self.library.index_of(chosen))
            self._save()
        self._save()
        if self.failed:
            warnings.warn(
                f"{len(self.failed)} sample(s) could not be measured and were skipped: "
                + "; ".join(f"sample {i}: {e}" for i, e in list(self.failed.items())[:3]),
                RuntimeWarning,
                stacklevel=2,
            )
        result = LibraryResult(self, state)
        if self.store is not None:
            result.save(self.store / RESULT)
        return result

    def _measure(self, indices: np.ndarray) -> None:
        for i in (int(k) for k in indices):
            error = ""
            for attempt in range(self.max_attempts):
                try:
                    samples = self.library.sample(self.library.candidates[i], 1, [self.seed, i, attempt])
                    self._patterns[i] = np.asarray(samples.configurations[0], dtype=float)
                    self.measured.append(i)
                    break
                except Exception as exc:  # a failing measurement is recorded, never fatal
                    error = f"{type(exc).__name__}: {exc}"
            else:
                self.failed[i] = error

    def _analyse(self) -> dict[str, Any] | None:
        """Cluster the measured patterns; fit the map; predict every sample's region."""
        from sklearn.base import clone

        from .maps import make_map

        if len(self.measured) < MIN_TO_CLUSTER:
            return None
        idx = np.array(self.measured)
        comp = self.library.candidates[idx]
        patterns = np.array([self._patterns[i] for i in self.measured])
        fit = {"two_theta": self.library.two_theta, "compositions": comp}
        labeler = clone(self.labeler).fit(patterns, **fit)
        weights = self._prior_weights(comp, labeler.labels_)
        links = self._links(comp, weights)
        if links is not None:
            labeler = clone(self.labeler).fit(patterns, links=links, **fit)
        phases = region_names(labeler.n_regions_)
        model = make_map(self.model, self.space, phases)
        for prior in self._translated_priors(comp, labeler.proba_, phases, weights):
            model.priors.extend([prior])
        model.fit(comp, labeler.proba_)
        proba = model.predict_proba(self.library.candidates)
        proba[idx] = labeler.proba_  # measured samples keep the regions their patterns gave
        return {
            "labeler": labeler,
            "model": model,
            "phases": phases,
            "proba": proba,
            "measured_proba": labeler.proba_,
            "prior_weights": weights,
        }

    def _prior_weights(self, comp: np.ndarray, labels: np.ndarray) -> list[float]:
        """How much each region prior is believed after the data: the posterior probability that the
        samples inside share one region, against the hypothesis that the prior says nothing.

        Of ``n`` measured samples inside, ``m`` lie outside the most common region of the clustering
        without priors. If the prior holds, ``m ~ Binomial(n, e)`` with a clustering error ``e``
        uniform on [0, CLUSTER_ERROR]; if not, every ``m`` in 0..n is alike. The Bayes factor is
        ``I_CLUSTER_ERROR(m + 1, n - m + 1) / CLUSTER_ERROR`` (regularised incomplete beta) and the
        prior's certainty its prior probability. A prior the patterns contradict is so switched off;
        one they bear out firms up.
        """
        from scipy.special import betainc

        weights = []
        for prior, inside in self._inside_region_priors(comp):
            c, n = float(prior["certainty"]), int(inside.sum())
            if n == 0:
                weights.append(c)
                continue
            m = n - int(np.bincount(labels[inside]).max())
            factor = float(betainc(m + 1, n - m + 1, CLUSTER_ERROR)) / CLUSTER_ERROR
            weights.append(c * factor / (c * factor + 1.0 - c))
        return weights

    def _links(self, comp: np.ndarray, weights: list[float]) -> np.ndarray | None:
        """Belief that two measured samples share a region: the weight of a region prior holding both."""
        links = np.zeros((len(comp), len(comp)))
        for (_, inside), w in zip(self._inside_region_priors(comp), weights):
            both = np.outer(inside, inside)
            links[both] = np.maximum(links[both], w)
        return links if links.any() else None

    def _inside_region_priors(self, points: np.ndarray) -> list[tuple[dict[str, Any], np.ndarray]]:
        """Each region prior with the mask of ``points`` inside its polygon."""
        from matplotlib.path import Path as Polygon

        plane = self.space.plane_coordinates(points)
        return [
            (p, Polygon(self.space.plane_coordinates(p["region"])).contains_points(plane))
            for p in self.priors
            if "region" in p
        ]

    def _translated_priors(
        self, comp: np.ndarray, proba: np.ndarray, phases: list[str], weights: list[float]
    ) -> list[dict[str, Any]]:
        """Region priors named after the region holding most measured samples inside them, held with
        their weight after the data."""
        out = [p for p in self.priors if "region" not in p]
        for (prior, inside), w in zip(self._inside_region_priors(comp), weights):
            if inside.any():
                phase = phases[int(np.argmax(proba[inside].sum(axis=0)))]
                out.append({**prior, "phase": phase, "certainty": round(w, 6)})
        return out

    def _initial_count(self) -> int:
        """The space-filling start, thinned by the share of the library region priors state."""
        held = np.zeros(len(self.library.candidates))
        for prior, inside in self._inside_region_priors(self.library.candidates):
            held[inside] = np.maximum(held[inside], float(prior["certainty"]))
        return max(MIN_TO_CLUSTER, math.ceil(self.n_initial * (1.0 - held.mean())))

    def _ask(self, state: dict[str, Any] | None, n: int) -> np.ndarray:
        from .planners import Planner, Pool, Random, Sobol, make_planner

        candidates = np.delete(self.library.candidates, list(self.failed), axis=0) if self.failed else None
        candidates = self.library.candidates if candidates is None else candidates
        done = self.library.candidates[np.array(self.measured, dtype=int)]
        inner: Planner
        if self.planner == "random":
            inner = Random(self.space, seed=self.seed)
        elif state is None or len(self.measured) < self._initial_count() or self.planner == "sobol":
            inner = Sobol(self.space, seed=self.seed)
        else:
            inner = make_planner(
                self.planner,
                self.space,
                phases=state["phases"],
                model=state["model"],
                n_initial=2,
                seed=self.seed,
            )
        pool = Pool(inner, candidates)
        if len(done):  # space-filling planners ignore the labels they are told
            labels = np.zeros(len(done), dtype=int)
            if state is not None and not isinstance(inner, (Random, Sobol)):
                labels = state["measured_proba"]
            pool.tell(done, labels)
        return pool.ask(n)

    def _record(self, state: dict[str, Any] | None) -> None:
        from sklearn.metrics import adjusted_rand_score, fowlkes_mallows_score

        n = len(self.measured)
        if self._rows and self._rows[-1]["n_measured"] == n:
            return
        row: dict[str, float] = {"n_measured": n, "n_failed": len(self.failed), "time": time.time()}
        if state is None:
            row.update(n_regions=math.nan, fmi=math.nan, ari=math.nan, mean_entropy=math.nan)
        else:
            labels = state["proba"].argmax(axis=1)
            p = np.clip(state["proba"], 1e-300, 1.0)
            row.update(n_regions=len(state["phases"]), mean_entropy=float(-(p * np.log(p)).sum(axis=1).mean()))
            if self.reference is not None:
                ref = np.asarray(self.library.dataset[self.reference].values)
                row.update(fmi=float(fowlkes_mallows_score(ref, labels)), ari=float(adjusted_rand_score(ref, labels)))
            else:
                row.update(fmi=math.nan, ari=math.nan)
        self._rows.append(row)


class LibraryResult:
    """What a :class:`LibraryCampaign` found: every sample's region, the end members, the history.

    Attributes
    ----------
    dataset : xarray.Dataset
        ``composition (sample, element)``, ``proba (sample, region)``, ``label (sample)``,
        ``entropy (sample)``, ``measured (sample)`` (bool), ``order (sample)`` (measurement
        order, -1 if unmeasured), ``endmembers (region, two_theta)``, ``region_patterns``, and the
        history over ``batch``: ``n_measured``, ``n_regions``, ``fmi``, ``ari``, ``mean_entropy``.
    """

    def __init__(self, campaign: LibraryCampaign, state: dict[str, Any] | None) -> None:
        lib = campaign.library
        n = len(lib.candidates)
        order = np.full(n, -1)
        order[np.array(campaign.measured, dtype=int)] = np.arange(len(campaign.measured))
        rows = campaign._rows
        counts = ("n_measured", "n_failed")
        history = {
            k: ("batch", np.array([r[k] for r in rows], dtype=int if k in counts else float))
            for k in (rows[0] if rows else ())
        }
        data: dict[str, Any] = {
            "composition": (("sample", "element"), lib.candidates),
            "measured": ("sample", order >= 0),
            "order": ("sample", order),
            **history,
        }
        coords: dict[str, Any] = {"sample": np.arange(n), "element": list(lib.space.elements)}
        if state is not None:
            p = np.clip(state["proba"], 1e-300, 1.0)
            coords.update(region=state["phases"], two_theta=lib.two_theta)
            data.update(
                proba=(("sample", "region"), state["proba"]),
                label=("sample", np.asarray(state["phases"])[state["proba"].argmax(axis=1)]),
                entropy=("sample", -(p * np.log(p)).sum(axis=1)),
                endmembers=(("region", "two_theta"), state["labeler"].endmembers_),
                region_patterns=(("region", "two_theta"), state["labeler"].region_patterns_),
            )
        self.dataset = xr.Dataset(data, coords=coords)
        self.dataset.attrs.update(
            {
                "planner": campaign.planner,
                "seed": campaign.seed,
                "n_failed": len(campaign.failed),
                "failed": json.dumps({str(k): v for k, v in campaign.failed.items()}),
                "reason": "" if state is not None else f"fewer than {MIN_TO_CLUSTER} samples measured to cluster",
                "space": json.dumps(lib.space.to_dict()),
            }
        )
        self.state = state
        self._library = lib

    @property
    def n_measured(self) -> int:
        return int(self.dataset["measured"].sum())

    @property
    def n_failed(self) -> int:
        return int(self.dataset.attrs["n_failed"])

    @property
    def history(self) -> xr.Dataset:
        return self.dataset[[v for v in self.dataset.data_vars if self.dataset[v].dims == ("batch",)]]

    @property
    def model(self) -> Any:
        """The phase map fitted to the measured samples' regions (``None`` before any clustering)."""
        return None if self.state is None else self.state["model"]

    def fit_property(self, name: str, **params: Any) -> Any:
        """Fit a :class:`~phasemapper.maps.PhaseProperty` of the per-sample variable ``name`` to the measured
        samples and their regions; every sample's prediction goes into the Dataset as ``property_mean``,
        ``property_low`` and ``property_high`` (the 95% interval). Returns the model."""
        from .maps import PhaseProperty

        if self.state is None:
            raise ValueError(f"{name}: no regions to fit a property to ({self.dataset.attrs['reason']})")
        lib = self._library
        if name not in lib.properties:
            raise ValueError(
                f"property: the library has no per-sample variable {name!r} (it has {list(lib.properties)})"
            )
        done = np.asarray(self.dataset["measured"].values, dtype=bool)
        model = PhaseProperty(lib.space, self.state["phases"], **params)
        model.fit(lib.candidates[done], self.state["proba"][done], lib.dataset[name].values[done])
        mean, _ = model.predict(lib.candidates)
        interval = model.predict_interval(lib.candidates)
        self.dataset["property_mean"] = ("sample", mean)
        self.dataset["property_low"] = ("sample", interval[:, 0])
        self.dataset["property_high"] = ("sample", interval[:, 1])
        self.dataset["property_measured"] = ("sample", np.where(done, lib.dataset[name].values, np.nan))
        self.dataset.attrs["property"] = name
        return model

    def save(self, path: str | Path) -> None:
        write_atomically(path, lambda tmp: self.dataset.to_netcdf(tmp))

    def __repr__(self) -> str:
        regions = self.dataset.sizes.get("region", 0)
        return f"LibraryResult({self.n_measured} of {self.dataset.sizes['sample']} measured, {regions} regions)"
