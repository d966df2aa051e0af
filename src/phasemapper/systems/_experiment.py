"""A measurement model around a true system: missed minority phases, flipped labels, a cost, optional XRD."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import check_bool, check_finite
from .._types import Samples
from ._base import System, register_system
from ._calphad import Calphad

__all__ = ["Experiment", "xrd_patterns", "TWO_THETA"]

#: Cu K-alpha wavelength (Angstrom) and the 2-theta grid (degrees) of the synthetic patterns
WAVELENGTH = 1.5406
TWO_THETA = np.linspace(20.0, 80.0, 301)

# Crystal structures of the phases in the shipped databases: (lattice, a, c, reflections hkl).
# Room-temperature lattice parameters (Angstrom): Pb fcc a = 4.950; beta-Sn a = 5.832, c = 3.182;
# Bi (hexagonal setting) a = 4.546, c = 11.862 (W.B. Pearson, Handbook of Lattice Spacings, 1958).
_STRUCTURES: dict[str, tuple[str, float, float, tuple[tuple[int, int, int], ...]]] = {
    "FCC_A1": ("cubic", 4.950, 4.950, ((1, 1, 1), (2, 0, 0), (2, 2, 0), (3, 1, 1), (2, 2, 2))),
    "BCT_A5": ("tetragonal", 5.832, 3.182, ((2, 0, 0), (1, 0, 1), (2, 2, 0), (2, 1, 1), (3, 0, 1), (1, 1, 2))),
    "RHOMBO_A7": ("hexagonal", 4.546, 11.862, ((0, 1, 2), (1, 0, 4), (1, 1, 0), (0, 1, 5), (2, 0, 2), (0, 2, 4))),
}


def _peak_positions(phase: str) -> np.ndarray:
    """2-theta (degrees) of a phase's reflections; an unknown solid gets fixed pseudo-random ones (seeded by its name)."""
    if phase not in _STRUCTURES:
        rng = np.random.default_rng(zlib.crc32(phase.encode()))
        return np.sort(rng.uniform(25.0, 75.0, 5))
    lattice, a, c, hkls = _STRUCTURES[phase]
    out = []
    for h, k, ell in hkls:
        if lattice == "hexagonal":
            inv_d2 = 4.0 / 3.0 * (h * h + h * k + k * k) / a**2 + ell * ell / c**2
        else:
            inv_d2 = (h * h + k * k) / a**2 + ell * ell / c**2
        out.append(2.0 * np.degrees(np.arcsin(WAVELENGTH * np.sqrt(inv_d2) / 2.0)))
    return np.array(out)


def xrd_patterns(phases: Sequence[str], two_theta: np.ndarray = TWO_THETA, width: float = 0.35) -> np.ndarray:
    """Reference XRD pattern of each phase ``(n_phases, n_two_theta)``, each normalised to unit area.

    Solids: Gaussian peaks (FWHM ``width`` degrees) at their Bragg angles for Cu K-alpha, intensities
    falling 1, 0.7, 0.5, ...; ``LIQUID``: a broad amorphous halo at 31 degrees (FWHM 8 degrees).
    """
    sigma = width / 2.3548
    out = np.zeros((len(phases), len(two_theta)))
    for j, phase in enumerate(phases):
        if phase.upper().startswith("LIQUID"):
            out[j] = np.exp(-0.5 * ((two_theta - 31.0) / (8.0 / 2.3548)) ** 2)
        else:
            for r, pos in enumerate(_peak_positions(phase.upper())):
                out[j] += 0.7**r * np.exp(-0.5 * ((two_theta - pos) / sigma) ** 2)
        out[j] /= out[j].sum()
    return out


class Experiment(System):
    """A materials experiment around a true system: which phases it sees, with its errors and its cost.

    At a point the true equilibrium (a :class:`Calphad` system) gives phase
    fractions; the experiment reports the assemblage of the phases whose
    fraction is at least ``detection_limit`` (a minority phase below it is
    missed), and with probability ``flip`` reports a different assemblage,
    chosen uniformly. Every measurement costs ``cost`` (observable ``cost``).

    With ``xrd=True`` it returns a synthetic X-ray diffraction pattern per
    sample instead of a label (configurations on the 2-theta grid
    :data:`TWO_THETA`): the phase-fraction-weighted sum of the phases'
    reference patterns (:func:`xrd_patterns`) plus Gaussian noise of relative
    size ``xrd_noise``; a labeler (:class:`phasemapper.labelers.XRDLabeler`)
    must then tell the phases from the spectrum, as in an autonomous
    diffraction campaign.

    Parameters
    ----------
    truth : Calphad
        The true system.
    detection_limit : float
        Smallest phase fraction the measurement sees, in [0, 0.5).
    flip : float
        Probability that a reported assemblage is wrong, in [0, 1).
    cost : float
        Cost of one measurement (e.g. hours).
    xrd : bool
        Return spectra instead of labels.
    xrd_noise : float
        Noise standard deviation relative to the pattern's maximum.

    Examples
    --------
    >>> from phasemapper.systems import Calphad, Experiment
    >>> exp = Experiment(Calphad.pbsn(), detection_limit=0.05)
    >>> s = exp.sample([0.27, 460.0], n_samples=1, seed=0)    # about 3% liquid: below the limit
    >>> exp.phases[int(s.observables["label"][0])]
    'FCC_A1'
    """

    name = "experiment"
    reference = "the true system"

    def __init__(
        self,
        truth: Calphad,
        *,
        detection_limit: float = 0.03,
        flip: float = 0.0,
        cost: float = 1.0,
        xrd: bool = False,
        xrd_noise: float = 0.02,
    ) -> None:
        if not isinstance(truth, Calphad):
            raise TypeError(f"truth must be a phasemapper.systems.Calphad system, got {type(truth).__name__}")
        self.detection_limit = check_finite("detection_limit", detection_limit)
        if not 0.0 <= self.detection_limit < 0.5:
            raise ValueError(f"detection_limit must be a phase fraction in [0, 0.5), got {detection_limit!r}")
        self.flip = check_finite("flip", flip)
        if not 0.0 <= self.flip < 1.0:
            raise ValueError(f"flip must be a probability in [0, 1), got {flip!r}")
        self.cost = check_finite("cost", cost)
        if self.cost < 0:
            raise ValueError(f"cost must be >= 0, got {cost!r}")
        xrd = check_bool("xrd", xrd)
        self.xrd, self.xrd_noise = xrd, check_finite("xrd_noise", xrd_noise)
        if self.xrd_noise < 0:
            raise ValueError(f"xrd_noise must be >= 0, got {xrd_noise!r}")
        self.truth = truth
        self.space, self.phases = truth.space, truth.phases
        self.site_dims = ("two_theta",) if xrd else ()
        self.config_dtype = np.float32 if xrd else np.int8

    def default_labeler(self) -> Any:
        """With ``xrd``, the phases fitted to the pattern (:class:`~phasemapper.labelers.XRDLabeler`); otherwise
        the reported assemblage."""
        if not self.xrd:
            return super().default_labeler()
        from ..labelers import XRDLabeler

        return XRDLabeler(self.truth.db_phases, self.phases, threshold=max(self.detection_limit, 0.01))

    def site_shape(self) -> tuple[int, ...]:
        return (len(TWO_THETA),) if self.xrd else ()

    def check_point(self, point: np.ndarray) -> None:
        self.truth.check_point(point)

    def reference_phase(self, points: Any) -> np.ndarray:
        return self.truth.reference_phase(points)

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        rng = np.random.default_rng(ss)
        frac, _ = self.truth.fractions(point[None])
        cost = np.full(n_samples, self.cost)
        if self.xrd:
            ref = xrd_patterns(self.truth.db_phases)
            clean = frac[0] @ ref
            spectra = clean[None] + self.xrd_noise * clean.max() * rng.standard_normal((n_samples, len(TWO_THETA)))
            return Samples(spectra.astype(np.float32), {"cost": cost}, {"cost_per_sample": self.cost})
        seen = np.where(frac[0] >= max(self.detection_limit, 1e-6), frac[0], 0.0)
        true_label = int(self.truth.assemblage_index(seen)[0])
        labels = np.full(n_samples, true_label)
        wrong = rng.random(n_samples) < self.flip
        others = [k for k in range(len(self.phases)) if k != true_label]
        labels[wrong] = rng.choice(others, size=int(wrong.sum()))
        return Samples(
            labels.astype(np.int8), {"label": labels.astype(float), "cost": cost}, {"cost_per_sample": self.cost}
        )


def _make_experiment(truth: Any = "pbsn", **params: Any) -> Experiment:
    """Registry factory: ``truth`` is a Calphad system's parameters (or a built-in database name)."""
    system = Calphad(**truth) if isinstance(truth, dict) else Calphad(truth)
    return Experiment(system, **params)


register_system("experiment", _make_experiment)
