"""Label X-ray diffraction patterns: which phases, and so which assemblage, a spectrum shows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_number
from .._types import Samples
from ._base import Labeler

__all__ = ["XRDLabeler"]


class XRDLabeler(Labeler):
    """Phase fractions of a spectrum by non-negative least squares on the phases' reference patterns
    (``scipy.optimize.nnls``), then the assemblage of the phases above ``threshold``.

    Each sample's spectrum is decomposed as ``sum_j f_j R_j`` with the reference patterns ``R_j`` of
    :func:`phasemapper.systems.xrd_patterns`; the phases with ``f_j / sum f >= threshold`` form the
    sample's assemblage, and the probabilities are the share of samples showing each assemblage
    (plus a small floor, so a single spectrum is never certain).

    Parameters
    ----------
    db_phases : sequence of str
        The phases whose reference patterns are fitted.
    phases : sequence of str
        The assemblage labels (``"A"``, ``"A+B"``, ...), as a :class:`~phasemapper.systems.Calphad` names them.
    threshold : float
        Smallest fitted fraction counted as present.

    Examples
    --------
    >>> from phasemapper.systems import Calphad, Experiment
    >>> from phasemapper.labelers import XRDLabeler
    >>> exp = Experiment(Calphad.pbsn(), xrd=True)
    >>> lab = XRDLabeler(exp.truth.db_phases, exp.phases)
    >>> point = [0.5, 400.0]
    >>> exp.phases[int(lab(exp.sample(point, 4, seed=0), point).argmax())]
    'BCT_A5+FCC_A1'
    """

    def __init__(self, db_phases: Sequence[str], phases: Sequence[str], *, threshold: float = 0.03) -> None:
        self.db_phases, self.phases = tuple(db_phases), tuple(phases)
        if len(self.phases) < 2:
            raise ValueError(f"phases must be at least two assemblage names, got {self.phases!r}")
        for name in self.phases:
            unknown = set(name.split("+")) - set(self.db_phases)
            if unknown:
                raise ValueError(f"assemblage {name!r} names phases not in db_phases: {sorted(unknown)}")
        self.threshold = check_number("threshold", threshold, low=0.0, high=0.5, low_open=True, high_open=True)

    def fractions(self, spectra: np.ndarray) -> np.ndarray:
        """Fitted phase fractions ``(n_samples, n_db_phases)``, normalised to sum 1."""
        from scipy.optimize import nnls

        from ..systems._experiment import xrd_patterns

        ref = xrd_patterns(self.db_phases)
        y = np.atleast_2d(np.asarray(spectra, dtype=float))
        if y.shape[1] != ref.shape[1]:
            raise ValueError(f"spectra have {y.shape[1]} channels, the reference patterns {ref.shape[1]}")
        f = np.array([nnls(ref.T, row)[0] for row in y])
        return f / np.maximum(f.sum(axis=1, keepdims=True), 1e-300)

    def proba(self, samples: Samples, point: np.ndarray) -> np.ndarray:
        from ..systems._calphad import assemblage_index

        f = self.fractions(samples.configurations)
        idx = assemblage_index(np.where(f >= self.threshold, f, 0.0), self.db_phases, self.phases)
        return 0.01 + np.bincount(idx[idx >= 0], minlength=len(self.phases)).astype(float)
