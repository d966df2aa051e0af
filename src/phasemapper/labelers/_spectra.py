"""Phase regions from diffraction patterns: unsupervised, shift-tolerant, with composition neighbours."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from .._checks import check_bool, check_number, check_positive_int, check_seed

__all__ = ["SpectraLabeler", "pattern_similarity"]


def _strain_axis(two_theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ln sin(theta)`` at the given angles and an even grid over the same range: a uniform
    expansion of the lattice by a strain ``e`` moves every peak by ``-ln(1 + e)`` along it."""
    q = np.log(np.sin(np.radians(two_theta) / 2.0))
    return q, np.linspace(q[0], q[-1], len(q))


def pattern_similarity(patterns: np.ndarray, two_theta: np.ndarray, max_strain: float = 0.0) -> np.ndarray:
    """Cosine similarity ``(n, n)`` of patterns, maximised over lattice strains up to ``max_strain``.

    The patterns are put on an even grid of ``ln sin(theta)``, where a uniform lattice expansion
    (alloying) is a rigid shift; the similarity of two patterns is the largest cosine between one
    and the other shifted by at most ``max_strain`` (0: the plain cosine similarity).

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper.labelers import pattern_similarity
    >>> tt = np.linspace(37, 48, 551)
    >>> peak = lambda c: np.exp(-0.5 * ((tt - c) / 0.1) ** 2)
    >>> pair = np.array([peak(44.0), peak(44.3)])  # 44.3 degrees: about 0.6% smaller d-spacing
    >>> float(pattern_similarity(pair, tt)[0, 1].round(2)), float(pattern_similarity(pair, tt, 0.01)[0, 1].round(2))
    (0.11, 1.0)
    """
    x = np.asarray(patterns, dtype=float)
    q, grid = _strain_axis(np.asarray(two_theta, dtype=float))
    z = np.array([np.interp(grid, q, row) for row in x])
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    z = z / np.where(norms > 0, norms, 1.0)
    best = z @ z.T
    for s in range(1, int(np.log1p(max_strain) / (grid[1] - grid[0])) + 1):
        c = z[:, s:] @ z[:, :-s].T
        best = np.maximum(best, np.maximum(c, c.T))
    return np.clip(best, -1.0, 1.0)


def _remove_background(x: np.ndarray, window: int) -> np.ndarray:
    """Subtract a rolling minimum, smoothed by a rolling mean of the same width; clip at zero."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    base = uniform_filter1d(minimum_filter1d(x, window, axis=1, mode="nearest"), window, axis=1, mode="nearest")
    return np.clip(x - base, 0.0, None)


def composition_neighbours(points: np.ndarray) -> np.ndarray:
    """Adjacency ``(n, n)`` of the Delaunay triangulation of ``points`` (coordinates, not fractions),
    with self-loops; for fewer points than a triangulation needs, everyone neighbours everyone."""
    from scipy.spatial import Delaunay, QhullError

    n, d = points.shape
    adjacency = np.eye(n)
    if d == 1:  # a binary: neighbours along the line
        order = np.argsort(points[:, 0])
        adjacency[order[:-1], order[1:]] = adjacency[order[1:], order[:-1]] = 1.0
        return adjacency
    try:
        simplices = Delaunay(points).simplices
    except (QhullError, ValueError):
        return np.ones((n, n))
    for simplex in simplices:
        for i, j in itertools.combinations(simplex, 2):
            adjacency[i, j] = adjacency[j, i] = 1.0
    return adjacency


class SpectraLabeler(ClusterMixin, BaseEstimator):
    """Phase regions of a materials library from its diffraction patterns, without supervision.

    The method follows CAMEO's phase mapping (Kusne et al., Nat. Commun. 11, 5966, 2020):
    pattern similarity, restricted to composition neighbours, then spectral clustering with the
    number of regions chosen by the data. In detail:

    1. each pattern's background (a rolling minimum ``background`` degrees wide) is removed
       and the pattern smoothed by a Gaussian of ``smoothing`` degrees;
    2. patterns are compared by :func:`pattern_similarity`, tolerant to the peak shifts of a
       lattice strained by up to ``max_strain`` (alloying shifts every peak at once);
    3. the affinity ``exp(-d_ij^2 / s_i s_j)`` of the pattern distance ``d = sqrt(2 - 2 cos)``,
       locally scaled (Zelnik-Manor & Perona, NIPS 2004: ``s_i`` is the distance from pattern
       ``i`` to its ``scaling_neighbour``-th nearest pattern), is kept only between samples that
       neighbour in composition (the Delaunay graph of the compositions) when ``neighbours=True``;
    4. spectral clustering into ``n_regions`` regions, or, when ``None``, into the ``k``
       (2 to ``max_regions``) with the largest ratio ``lambda_(k+1) / lambda_k`` of consecutive
       eigenvalues of the normalised graph Laplacian: ``k`` nearly disconnected groups of
       samples give ``k`` eigenvalues near zero and a jump after them.

    Each sample's region probabilities are the affinity-weighted votes of its neighbours
    (itself included); the end-member patterns are a non-negative factorisation (NMF) of the
    background-free patterns into ``n_regions_`` components, with each sample's abundances.

    Parameters
    ----------
    n_regions : int, optional
        Fixed number of regions (default: chosen by the eigengap).
    max_regions : int
        Most regions the eigengap may choose.
    smoothing, background : float
        Gaussian smoothing width and background window, degrees of 2-theta.
    max_strain : float
        Largest relative lattice expansion compared as the same pattern (0 disables).
    scaling_neighbour : int
        Which nearest pattern sets each sample's local distance scale.
    neighbours : bool
        Keep affinities only between composition neighbours.
    random_state : int

    Attributes
    ----------
    labels_ : ndarray of int, (n_samples,)
        Region of each sample, numbered in order of each region's first sample.
    proba_ : ndarray (n_samples, n_regions_)
    n_regions_ : int
    eigenvalues_ : ndarray
        Smallest eigenvalues of the normalised Laplacian (the eigengap's evidence).
    endmembers_ : ndarray (n_regions_, n_angles)
        NMF components, each scaled to a maximum of 1.
    abundances_ : ndarray (n_samples, n_regions_)
        Each sample's NMF weights, scaled so ``abundances_ @ endmembers_`` approximates the patterns.
    region_patterns_ : ndarray (n_regions_, n_angles)
        Mean background-free pattern of each region.
    two_theta_ : ndarray (n_angles,)

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper.labelers import SpectraLabeler
    >>> tt = np.linspace(37, 48, 221)
    >>> rng = np.random.default_rng(0)
    >>> comp = rng.dirichlet([1, 1, 1], size=60)
    >>> centre = np.where(comp[:, 0] > 0.4, 40.0, 45.0)
    >>> xrd = np.exp(-0.5 * ((tt - centre[:, None]) / 0.2) ** 2) + 0.01 * rng.random((60, 221))
    >>> lab = SpectraLabeler().fit(xrd, two_theta=tt, compositions=comp)
    >>> lab.n_regions_, bool(np.all((lab.labels_ == lab.labels_[0]) == (centre == centre[0])))
    (2, True)
    """

    def __init__(
        self,
        *,
        n_regions: int | None = None,
        max_regions: int = 8,
        smoothing: float = 0.04,
        background: float = 1.2,
        max_strain: float = 0.01,
        scaling_neighbour: int = 7,
        neighbours: bool = True,
        random_state: int = 0,
    ) -> None:
        self.n_regions = n_regions
        self.max_regions = max_regions
        self.smoothing = smoothing
        self.background = background
        self.max_strain = max_strain
        self.scaling_neighbour = scaling_neighbour
        self.neighbours = neighbours
        self.random_state = random_state

    def _check_params(self) -> None:
        if self.n_regions is not None:
            check_positive_int("n_regions", self.n_regions, 2)
        check_positive_int("max_regions", self.max_regions, 2)
        check_number("smoothing", self.smoothing, low=0)
        check_number("background", self.background, low=0)
        check_number("max_strain", self.max_strain, low=0, high=0.2)
        check_positive_int("scaling_neighbour", self.scaling_neighbour)
        check_bool("neighbours", self.neighbours)
        check_seed("random_state", self.random_state)

    def preprocess(self, patterns: np.ndarray, two_theta: np.ndarray) -> np.ndarray:
        """Background-free, smoothed patterns (step 1)."""
        from scipy.ndimage import gaussian_filter1d

        step = float(np.mean(np.diff(two_theta)))
        x = np.asarray(patterns, dtype=float)
        if self.background > 0:
            x = _remove_background(x, max(3, round(self.background / step)))
        if self.smoothing > 0:
            x = gaussian_filter1d(x, self.smoothing / step, axis=1, mode="nearest")
        return x

    def fit(
        self,
        patterns: Any,
        y: Any = None,
        *,
        two_theta: Any = None,
        compositions: Any = None,
        links: Any = None,
    ) -> SpectraLabeler:
        """Find the regions of ``patterns`` ``(n_samples, n_angles)`` measured at ``two_theta`` (degrees).

        ``patterns`` may instead be a library Dataset (:func:`phasemapper.io.read_library`), whose
        ``xrd``, ``two_theta`` and ``composition`` are used. ``compositions`` ``(n_samples, n_elements)``
        are needed when ``neighbours=True``. ``links`` ``(n_samples, n_samples)`` in [0, 1] is prior
        belief that two samples share a region (a person's knowledge: "these belong together"): with
        that probability the two are joined, so each affinity ``a`` of two composition neighbours
        becomes ``a + links (1 - a)``.
        """
        from sklearn.cluster import SpectralClustering

        self._check_params()
        x, tt, comp = _library_arrays(patterns, two_theta, compositions, self.neighbours)
        n = len(x)
        if n < 3:
            raise ValueError(f"patterns: need at least 3 samples to find regions, got {n}")
        clean = self.preprocess(x, tt)
        similarity = pattern_similarity(clean, tt, self.max_strain)
        distance = np.sqrt(np.clip(2.0 - 2.0 * similarity, 0.0, None))
        scale = np.sort(distance, axis=1)[:, min(self.scaling_neighbour, n - 1)]
        scale = np.maximum(scale, 1e-6)
        affinity = np.exp(-(distance**2) / np.outer(scale, scale))
        graph = np.ones((n, n))
        if self.neighbours:
            from .._simplex import _vertex_coordinates

            graph = composition_neighbours(comp @ _vertex_coordinates(comp.shape[1]))
            affinity = affinity * graph
        if links is not None:
            links = np.asarray(links, dtype=float)
            if links.shape != (n, n) or not np.all((links >= 0) & (links <= 1)):
                raise ValueError(f"links must be a ({n}, {n}) array of values in [0, 1]")
            affinity = affinity + graph * np.maximum(links, links.T) * (1.0 - affinity)
        self.eigenvalues_ = _laplacian_spectrum(affinity, min(self.max_regions + 1, n))
        if self.n_regions is not None:
            k = min(self.n_regions, n - 1)
        else:
            floor = 1e-9 * max(float(self.eigenvalues_[-1]), 1e-12)
            lam = np.clip(self.eigenvalues_, 0.0, None) + floor
            k = int(np.argmax(lam[2:] / lam[1:-1])) + 2  # lambda_(k+1) / lambda_k for k = 2, 3, ...
        with warnings.catch_warnings():  # a graph of nearly separate regions is what is looked for
            warnings.filterwarnings("ignore", "Graph is not fully connected", UserWarning)
            clusterer = SpectralClustering(k, affinity="precomputed", random_state=self.random_state)
            raw = clusterer.fit_predict(affinity)
        _, first = np.unique(raw, return_index=True)
        order = {int(raw[i]): rank for rank, i in enumerate(sorted(first))}
        self.labels_ = np.array([order[int(r)] for r in raw])
        self.n_regions_ = len(order)
        votes = affinity @ np.eye(self.n_regions_)[self.labels_]
        self.proba_ = votes / votes.sum(axis=1, keepdims=True)
        self.affinity_ = affinity
        self.two_theta_ = tt
        self.region_patterns_ = np.array([clean[self.labels_ == r].mean(axis=0) for r in range(self.n_regions_)])
        self._fit_endmembers(clean)
        return self

    def _fit_endmembers(self, clean: np.ndarray) -> None:
        from sklearn.decomposition import NMF

        scale = clean.max(axis=1, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
        nmf = NMF(self.n_regions_, init="nndsvda", max_iter=2000, random_state=self.random_state)
        weights = nmf.fit_transform(clean / scale) * scale
        peak = nmf.components_.max(axis=1, keepdims=True)
        peak = np.where(peak > 0, peak, 1.0)
        self.endmembers_ = nmf.components_ / peak
        self.abundances_ = weights * peak.T

    def fit_predict(self, patterns: Any, y: Any = None, **kwargs: Any) -> np.ndarray:
        """:meth:`fit`, then :attr:`labels_`."""
        return self.fit(patterns, **kwargs).labels_


def _laplacian_spectrum(affinity: np.ndarray, count: int) -> np.ndarray:
    from scipy.sparse.csgraph import laplacian

    return np.sort(np.linalg.eigvalsh(laplacian(affinity, normed=True)))[:count]


def _library_arrays(patterns: Any, two_theta: Any, compositions: Any, need_compositions: bool):
    import xarray as xr

    if isinstance(patterns, xr.Dataset):
        for field in ("xrd", "two_theta"):
            if field not in patterns.variables:
                raise ValueError(f"patterns: the Dataset has no {field!r}")
        two_theta = patterns["two_theta"].values
        if compositions is None and "composition" in patterns:
            compositions = patterns["composition"].values
        patterns = patterns["xrd"].values
    try:
        x = np.asarray(patterns, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("patterns must be a numeric array (n_samples, n_angles) or a library Dataset") from None
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"patterns must be a finite (n_samples, n_angles) array, got shape {x.shape}")
    if two_theta is None:
        raise ValueError("two_theta: the angles (degrees) of the pattern columns are needed")
    tt = np.asarray(two_theta, dtype=float)
    if tt.shape != (x.shape[1],) or np.any(np.diff(tt) <= 0) or tt[0] <= 0 or tt[-1] >= 180:
        raise ValueError(f"two_theta must be {x.shape[1]} increasing angles in (0, 180) degrees")
    comp = None
    if need_compositions:
        if compositions is None:
            raise ValueError("compositions: needed for composition neighbours (or set neighbours=False)")
        comp = np.asarray(compositions, dtype=float)
        if comp.ndim != 2 or len(comp) != len(x) or comp.shape[1] < 2 or not np.all(np.isfinite(comp)):
            raise ValueError(f"compositions must be a finite ({len(x)}, n_elements) array, got shape {comp.shape}")
    return x, tt, comp
