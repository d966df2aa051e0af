"""A materials library as a system: a finite set of samples, each with its pattern and properties."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.spatial import cKDTree

from .._simplex import Simplex
from .._types import Samples
from ._base import System

__all__ = ["Library", "library_from_spec"]

#: how close (simplex unit coordinates) a point must be to a sample to be that sample
MATCH_TOLERANCE = 1e-6


class Library(System):
    """A combinatorial library: measuring a composition returns that sample's pattern and properties.

    The space is the :class:`~phasemapper.Simplex` of the library's elements and the only points
    that can be measured are its samples (:attr:`candidates`); a planner is restricted to them
    by :class:`~phasemapper.planners.Pool`. Measuring a sample returns one configuration, the
    pattern over ``two_theta``, and every per-sample variable of the Dataset as an observable
    (``magnetization``, ...), with ``sample``, the sample's index.

    Parameters
    ----------
    dataset : xarray.Dataset
        A library as :func:`phasemapper.io.read_library` or :func:`phasemapper.datasets.fegapd`
        return it: ``composition (sample, element)``, ``xrd (sample, two_theta)``, other
        ``(sample,)`` variables.
    source : str, optional
        Where it came from (``"fegapd"`` or a file path: :func:`library_from_spec`), so a run can
        be resumed from its directory alone.

    Examples
    --------
    >>> from phasemapper.datasets import fegapd
    >>> from phasemapper.systems import Library
    >>> lib = Library(fegapd())
    >>> lib.space, len(lib.candidates)
    (Simplex(Fe-Ga-Pd), 278)
    >>> s = lib.sample(lib.candidates[5], 1, seed=0)
    >>> s.configurations.shape, int(s.observables["sample"][0])
    ((1, 551), 5)
    """

    name = "library"
    reference = "the library's own reference labels, if it has some"
    site_dims = ("two_theta",)
    config_dtype = np.float32
    deterministic = True

    def __init__(self, dataset: xr.Dataset, *, source: str | None = None) -> None:
        if not isinstance(dataset, xr.Dataset):
            raise TypeError(
                f"dataset must be an xarray Dataset (read_library or datasets), got {type(dataset).__name__}"
            )
        for field in ("composition", "xrd"):
            if field not in dataset:
                raise ValueError(f"dataset: a library needs the variable {field!r}")
        self.dataset = dataset
        self.source = source
        self.space: Simplex = Simplex([str(e) for e in dataset["element"].values])
        self.candidates = self.space.validate(dataset["composition"].values)
        self.phases = ()
        self._tree = cKDTree(self.space.to_unit(self.candidates))
        self.properties = tuple(
            str(v) for v in dataset.data_vars if dataset[v].dims == ("sample",) and dataset[v].dtype.kind in "fiu"
        )

    def __repr__(self) -> str:
        title = self.dataset.attrs.get("title", "")
        return (
            f"Library({len(self.candidates)} samples of {'-'.join(self.space.elements)}{', ' + title if title else ''})"
        )

    def site_shape(self) -> tuple[int, ...]:
        return (int(self.dataset.sizes["two_theta"]),)

    @property
    def two_theta(self) -> np.ndarray:
        return np.asarray(self.dataset["two_theta"].values, dtype=float)

    def index_of(self, points: Any) -> np.ndarray:
        """The sample index of each point; ``ValueError`` for a point that is no sample."""
        u = self.space.to_unit(self.space.validate(points))
        distance, index = self._tree.query(u)
        bad = distance > MATCH_TOLERANCE
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"point: {np.round(self.space.validate(points)[i], 6).tolist()} is not a sample of the library "
                f"(the nearest is sample {int(index[i])}, at distance {distance[i]:.3g})"
            )
        return index

    def sample(self, point: Any, n_samples: int, seed: Any) -> Samples:
        """The pattern and properties of the sample at ``point`` (``n_samples`` identical copies)."""
        point, n_samples, _ = self._sample_args(point, n_samples, seed)
        i = int(self.index_of(point[None])[0])
        pattern = np.asarray(self.dataset["xrd"].values[i], dtype=np.float32)
        observables = {name: np.full(n_samples, float(self.dataset[name].values[i])) for name in self.properties}
        observables["sample"] = np.full(n_samples, float(i))
        return Samples(np.repeat(pattern[None], n_samples, axis=0), observables, {"sample": i})


def library_from_spec(spec: str) -> Library:
    """``"fegapd"`` (the shipped Fe-Ga-Pd library) or a path read by :func:`phasemapper.io.read_library`."""
    from ..datasets import fegapd
    from ..io import read_library

    if spec == "fegapd":
        return Library(fegapd(), source=spec)
    return Library(read_library(spec), source=str(spec))
