"""Persistent homology of configurations: Betti numbers of spin species, vortex clouds, shuffled nulls."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import xarray as xr

from .._checks import check_choice
from ._base import Analysis, LineDetector
from ._grid import ParameterGrid
from ._indicators import interior_peak

__all__ = ["Topology", "betti_numbers", "vortex_charges", "vortex_cloud_bars", "steepest_slope"]

#: per-sample features of two-state configurations (``majority``: the species with more sites)
SPIN_FEATURES = ("b0_majority", "b1_majority", "b0_minority", "b1_minority")
#: the distance below which two vortices belong to one cluster: lattice diagonal neighbours
VORTEX_BOND = 1.5


def betti_numbers(field: Any, *, connectivity: int = 4) -> np.ndarray:
    """Betti numbers ``(b0, b1)`` of the sites where ``field < 0`` on the periodic lattice (a torus).

    The set is a cubical complex (GUDHI's periodic cubical complex, homology over Z/2): with
    ``connectivity=4`` its cells are the sites (vertices), the bonds between two of its sites and the
    plaquettes of four; with ``8`` every site is a square, so sites touching at a corner connect.
    ``b0`` counts its connected pieces, ``b1`` its independent loops (the holes around islands of the
    other sites, and the cycles that wrap the torus).

    Examples
    --------
    >>> import numpy as np
    >>> band = np.ones((8, 8)); band[2:4, :] = -1   # a band around the torus: an annulus
    >>> betti_numbers(band).tolist()
    [1, 1]
    >>> ring = np.ones((8, 8)); ring[2:5, 2:5] = -1; ring[3, 3] = 1   # a square ring around one site
    >>> betti_numbers(ring).tolist()
    [1, 1]
    """
    import gudhi

    values = np.where(np.asarray(field, dtype=float) < 0, -1.0, 1.0)
    if values.ndim != 2:
        raise ValueError(f"field must be a 2-D lattice, got shape {values.shape}")
    check_choice("connectivity", connectivity, (4, 8))
    cells = {"vertices": values} if connectivity == 4 else {"top_dimensional_cells": values}
    complex_ = gudhi.PeriodicCubicalComplex(periodic_dimensions=[True, True], **cells)
    complex_.compute_persistence(homology_coeff_field=2, min_persistence=-1)
    out = []
    for dim in (0, 1):
        pairs = complex_.persistence_intervals_in_dimension(dim)
        out.append(int(np.sum((pairs[:, 0] < 0) & (pairs[:, 1] > 0))) if len(pairs) else 0)
    return np.array(out)


def vortex_charges(theta: Any) -> np.ndarray:
    """The winding number of the angles around each plaquette of a periodic lattice (+1, -1 or 0).

    Plaquette ``(i, j)`` is walked ``(i, j)``, ``(i, j+1)``, ``(i+1, j+1)``, ``(i+1, j)`` (anticlockwise
    with ``j`` as x and ``i`` as y, so that ``arctan2(i, j)`` winds +1); each angle difference along its
    edges is taken in ``[-pi, pi)``.

    Examples
    --------
    >>> import numpy as np
    >>> i, j = np.mgrid[0:8, 0:8]
    >>> theta = np.arctan2(i - 3.5, j - 3.5)        # a vortex at the centre plaquette
    >>> q = vortex_charges(theta); int(q[3, 3]), int(q.sum())   # on a torus the charges cancel
    (1, 0)
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2:
        raise ValueError(f"theta must be a 2-D lattice, got shape {theta.shape}")
    right = np.roll(theta, -1, 1)
    corners = (theta, right, np.roll(right, -1, 0), np.roll(theta, -1, 0), theta)
    winding = sum(np.mod(b - a + np.pi, 2 * np.pi) - np.pi for a, b in zip(corners[:-1], corners[1:]))
    return np.rint(winding / (2 * np.pi)).astype(np.int8)


def vortex_cloud_bars(positions: np.ndarray, L: int, *, scale: float = VORTEX_BOND) -> int:
    """H0 bars of the vortex point cloud (periodic distances, Vietoris-Rips, GUDHI) that outlive ``scale``,
    the endless one included: the number of vortex clusters farther apart than ``scale`` (0 without vortices).

    Examples
    --------
    >>> import numpy as np
    >>> vortex_cloud_bars(np.array([[0, 0], [0, 1], [5, 5]]), 10)   # a bound pair and a lone vortex
    2
    """
    import gudhi

    if len(positions) < 2:
        return len(positions)
    gaps = np.abs(positions[:, None, :] - positions[None, :, :])
    gaps = np.minimum(gaps, L - gaps)
    distances = np.sqrt((gaps**2).sum(axis=-1))
    tree = gudhi.RipsComplex(distance_matrix=distances).create_simplex_tree(max_dimension=1)
    bars = np.array([death for dim, (_, death) in tree.persistence() if dim == 0])
    return int(np.sum(bars > scale))


def steepest_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Where ``y(x)`` changes fastest: the largest ``|dy/dx|`` (central differences), refined by a
    parabola through it and its two neighbours; NaN at the ends of the line.

    Examples
    --------
    >>> x = np.linspace(0, 2, 41)
    >>> round(steepest_slope(x, np.tanh((x - 1.23) / 0.2)), 2)
    1.23
    """
    slope = np.abs(np.gradient(np.asarray(y, dtype=float), np.asarray(x, dtype=float)))
    if not np.isfinite(slope).any():
        return float("nan")
    i = int(np.nanargmax(slope))
    if i == 0 or i == len(x) - 1:
        return float("nan")
    a, b, c = slope[i - 1 : i + 2]
    denominator = a - 2 * b + c
    shift = 0.5 * (a - c) / denominator if denominator != 0 else 0.0
    return float(x[i] + np.clip(shift, -1, 1) * 0.5 * (x[i + 1] - x[i - 1]))


def deepest_dip(x: np.ndarray, y: np.ndarray) -> float:
    """The most prominent interior minimum of ``y(x)`` (:func:`interior_peak` of ``-y``)."""
    return interior_peak(x, -np.asarray(y, dtype=float))


class Topology(LineDetector):
    """Phase transitions in the topology of the configurations: persistent homology per sample, against a null.

    After Cole, Loges & Shiu (Phys. Rev. B 104, 104426, 2021), Olsthoorn, Hellsvik & Balatsky (Phys.
    Rev. Research 2, 043309, 2020) and Loftus (arXiv:2603.29072, 2026: compare every statistic with
    configurations shuffled at the same density). Every configuration is compared with itself shuffled:
    the same sites of each kind, placed at random. What the shuffled copy also shows follows the
    density alone; what differs is the topology of the correlations.

    * Two-state configurations (spins +-1): each species' sites form a cubical complex on the periodic
      lattice (:func:`betti_numbers`, GUDHI). Per sample the Betti numbers per site of both species:
      ``b0`` (pieces) and ``b1`` (loops: holes around islands of the other species, and wrapping
      cycles). The estimate is the deepest dip of ``h1_excess_majority``, the majority's loops per
      site less those of the shuffled copy: below the transition the minority gathers into fewer
      islands than chance would give, and the deficit is largest where the correlations are longest.
      A second estimate, ``h1_excess_majority_steepest``, reads the same curve where it rises fastest
      (above the dip).
    * Angle configurations (the XY model): the vortices (:func:`vortex_charges`) as a periodic point
      cloud; per sample the vortices per site and the H0 bars per site of their Vietoris-Rips
      filtration that outlive a lattice diagonal (:func:`vortex_cloud_bars`: vortex clusters apart
      from one another, free vortices rather than bound pairs); the null places the same vortices at
      random plaquettes. The estimate is where ``vortex_clusters`` rises fastest
      (:func:`steepest_slope`).

    Uncertainties are the bootstrap spread over samples and the grid's resolution, as for every
    line detector; ``fit`` on several sizes adds the finite-size extrapolation.

    Parameters
    ----------
    axis : str
    kind : {"auto", "spins", "angles"}
        How to read the configurations; ``auto``: spins when every value is -1 or +1, else angles.
    connectivity : {4, 8}
        How sites of one species connect (see :func:`betti_numbers`).
    n_bootstrap, nu, seed : as in :class:`Confusion`; ``seed`` also draws the shuffled copies.

    Attributes
    ----------
    kind_ : str
        ``spins`` or ``angles``.
    curves_ : dict
        Per site, dims ``(L, [other axis], axis)``, the estimate's curve first. Spins: per feature
        (``b0_majority``, ``b1_majority``, ``b0_minority``, ``b1_minority``) ``betti_<feature>``,
        ``null_<feature>`` and ``excess_<feature>`` (real less shuffled; ``h1_excess_majority`` for
        ``b1_majority``, also stored as ``h1_excess_majority_steepest``). Angles: ``vortex_clusters``, ``vortex_density``, ``null_vortex_clusters``,
        ``excess_vortex_clusters``.
    indicator_ : xarray.DataArray
        ``h1_excess_majority`` (spins) or ``vortex_clusters`` (angles).
    critical_points_ : list of CriticalPoint
        Per size and, with several sizes, the finite-size extrapolation.
    seconds_per_configuration_ : dict
        ``L ->`` wall time of one configuration's homology (real and shuffled copy).

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import Topology
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.8, 2.0, 2.2, 2.4, 2.6, 2.8, 3.0]}, 10, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> det = Topology(n_bootstrap=5).fit(ds)
    >>> det.kind_, det.indicator_.name
    ('spins', 'h1_excess_majority')
    """

    method = "topology"
    requires = ("gudhi",)

    def __init__(
        self,
        axis: str = "T",
        *,
        kind: str = "auto",
        connectivity: int = 4,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.axis, self.kind, self.connectivity = axis, kind, connectivity
        self.n_bootstrap, self.nu, self.seed = n_bootstrap, nu, seed

    def fit(self, scans: Any) -> Topology:
        """Fit on one scan, ``{L: scan}`` or a list of scans (1-D lines or 2-D grids)."""
        self.seconds_per_configuration_: dict[int, float] = {}
        super().fit(scans)
        return self

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        check_choice("kind", self.kind, ("auto", "spins", "angles"))
        check_choice("connectivity", self.connectivity, (4, 8))
        if "configuration" not in ds:
            raise ValueError("scan: the Topology detector needs configurations ('configuration')")
        x = np.asarray(ds["configuration"].values, dtype=float)
        if x.ndim != 4 or x.shape[2] != x.shape[3]:
            raise ValueError(f"configuration: need square 2-D lattices (point, sample, L, L), got {x.shape}")
        two_state = bool(np.all(np.abs(x) == 1))
        if self.kind == "spins" and not two_state:
            raise ValueError("configuration: kind='spins' needs every site to be -1 or +1")
        self.kind_ = "spins" if (self.kind == "spins" or (self.kind == "auto" and two_state)) else "angles"
        features = self._spin_features if self.kind_ == "spins" else self._vortex_features
        rng = np.random.default_rng(self.seed)
        started = time.perf_counter()
        out = np.array([[features(config, rng) for config in point] for point in x])
        self.seconds_per_configuration_[x.shape[2]] = (time.perf_counter() - started) / (x.shape[0] * x.shape[1])
        return out / (x.shape[2] * x.shape[3])

    def _spin_features(self, field: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The Betti numbers of both species (majority as the negative set first), then of a shuffled copy."""
        majority_negative = field if field.sum() <= 0 else -field
        shuffled = rng.permutation(majority_negative.ravel()).reshape(field.shape)
        return np.concatenate(
            [betti_numbers(f, connectivity=self.connectivity) for g in (majority_negative, shuffled) for f in (g, -g)]
        )

    @staticmethod
    def _vortex_features(theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Vortices and vortex-cloud bars, then the same for the vortices at random plaquettes."""
        charges = vortex_charges(theta)
        L = charges.shape[0]
        positions = np.argwhere(charges != 0)
        cells = rng.choice(L * L, size=len(positions), replace=False)
        placed = np.column_stack(np.unravel_index(cells, (L, L)))
        return np.array([len(positions), vortex_cloud_bars(positions, L), vortex_cloud_bars(placed, L)], dtype=float)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        def mean(j: int) -> Any:
            return lambda d: (x, d[..., j].mean(axis=1))

        def excess(j: int, null: int) -> Any:
            return lambda d: (x, (d[..., j] - d[..., null]).mean(axis=1))

        if self.kind_ == "angles":
            return [
                Analysis("vortex_clusters", mean(1), steepest_slope),
                Analysis("vortex_density", mean(0), None),
                Analysis("null_vortex_clusters", mean(2), None),
                Analysis("excess_vortex_clusters", excess(1, 2), None),
            ]
        k = len(SPIN_FEATURES)
        out = [
            Analysis("h1_excess_majority", excess(1, k + 1), deepest_dip),
            Analysis("h1_excess_majority_steepest", excess(1, k + 1), steepest_slope),
        ]
        for j, name in enumerate(SPIN_FEATURES):
            out += [Analysis(f"betti_{name}", mean(j), None), Analysis(f"null_{name}", mean(k + j), None)]
            if name != "b1_majority":
                out.append(Analysis(f"excess_{name}", excess(j, k + j), None))
        return out
