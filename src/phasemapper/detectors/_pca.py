"""Principal component analysis of configurations (unsupervised)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._checks import check_choice, check_positive_int
from .._types import CriticalPoint
from ._base import Analysis, LineDetector
from ._grid import ParameterGrid, network_inputs
from ._scans import first_root

__all__ = ["PCA"]


class PCA(LineDetector):
    """Principal components of the configurations and clusters in PC space.

    After Wang, Phys. Rev. B 94, 195105 (2016) and Hu, Singh & Scalettar, Phys.
    Rev. E 95, 062122 (2017): scikit-learn's PCA over all configurations of a
    size (flattened); the *quantified leading component* ``<|y_1|> / sqrt(N)``
    per point (for the Ising model the leading component is the uniform mode
    and this is ``<|m|>``); k-means with two clusters on ``|y_1|`` separates
    ordered from disordered samples, and the transition is where the share of
    the ordered cluster crosses 1/2.

    Parameters
    ----------
    axis : str
    n_components : int
        Components kept (``components_`` and ``explained_variance_ratio_`` per size).
    ordered : {"low", "high"}
        Side of the axis where the ordered cluster dominates (for naming only).
    max_fit_samples : int
        Configurations the PCA is fitted on (a seeded subsample; projections use all).
    n_bootstrap, nu, seed : as in :class:`Confusion`.

    Attributes
    ----------
    indicator_ : xarray.DataArray
        The quantified leading component, dims ``(L, [other axis], axis)``.
    curves_ : dict
        ``pca_component`` and ``pca_clusters`` (share of the ordered cluster).
    explained_variance_ratio_ : dict
        ``L -> ratios`` of the kept components.
    labels_, proba_ : xarray.DataArray
        Per point at the largest size: the majority cluster and the cluster shares.
    critical_points_ : list of CriticalPoint

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import PCA
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> float(PCA(n_bootstrap=5).fit(ds).explained_variance_ratio_[8][0]) > 0.1
    True
    """

    method = "pca"

    def __init__(
        self,
        axis: str = "T",
        *,
        n_components: int = 2,
        ordered: str = "low",
        max_fit_samples: int = 20_000,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.axis, self.n_components, self.ordered, self.max_fit_samples = axis, n_components, ordered, max_fit_samples
        self.n_bootstrap, self.nu, self.seed = n_bootstrap, nu, seed

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA as SkPCA

        check_positive_int("n_components", self.n_components)
        check_choice("ordered", self.ordered, ("low", "high"))
        x = network_inputs(ds)
        P, S = x.shape[:2]
        flat = x.reshape(P * S, -1)
        rng = np.random.default_rng(self.seed)
        fit_rows = rng.choice(P * S, size=min(P * S, int(self.max_fit_samples)), replace=False)
        pca = SkPCA(n_components=min(self.n_components, flat.shape[1]), random_state=self.seed).fit(flat[fit_rows])
        signed = pca.transform(flat)[:, 0] / np.sqrt(flat.shape[1])
        y1 = np.abs(signed)
        km = KMeans(n_clusters=2, n_init=4, random_state=self.seed).fit(y1[:, None])
        ordered_cluster = int(np.argmax(km.cluster_centers_[:, 0]))
        in_ordered = (km.labels_ == ordered_cluster).astype(float)
        L = int(ds.attrs.get("size", x.shape[-1]) or x.shape[-1])
        self.explained_variance_ratio_[L] = pca.explained_variance_ratio_  # reset by fit
        return np.stack([y1.reshape(P, S), in_ordered.reshape(P, S), signed.reshape(P, S)], axis=-1)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        sign = 1.0 if self.ordered == "low" else -1.0
        return [
            Analysis("pca_component", lambda d: (x, d[..., 0].mean(axis=1)), None),
            Analysis(
                "pca_clusters",
                lambda d: (x, d[..., 1].mean(axis=1)),
                lambda cx, share: first_root(cx, sign * (share - 0.5)),
            ),
        ]

    def fit(self, scans: Any) -> PCA:
        self.explained_variance_ratio_: dict[int, np.ndarray] = {}
        return super().fit(scans)

    def _finish(self, fitted: dict[int, tuple[ParameterGrid, xr.Dataset, Any]]) -> None:
        """The leading component's Binder crossings (several sizes, scans with energies) and the phase
        probabilities of the largest size (the share of its samples in the ordered cluster)."""
        projections = {L: ds.assign(pc1=(("point", "sample"), data[..., 2])) for L, (_, ds, data) in fitted.items()}
        if len(projections) >= 2 and "energy" in next(iter(projections.values())):
            # the leading component as an order parameter: Binder crossings of successive sizes
            from ._observables import Observables

            fss = Observables(
                self.axis, order_parameter="pc1", n_bootstrap=self.n_bootstrap, seed=self.seed, ordered=self.ordered
            ).fit(projections)
            self.binder_crossings_ = fss.binder_crossings_
            self.critical_points_ = [
                CriticalPoint(self.axis, v, s, f"pca_binder_crossing L={a},{b}")
                for (a, b), (v, s) in sorted(fss.binder_crossings_.items(), reverse=True)
                if np.isfinite(v)
            ] + self.critical_points_
        grid, _, data = fitted[max(fitted)]
        share = data[..., 1].mean(axis=1)
        self._set_phase_proba(grid, np.stack([share, 1 - share], axis=-1), ["ordered", "disordered"])
