"""Measured data shipped with the package: read from the installed files, never downloaded."""

from __future__ import annotations

from importlib import resources

import xarray as xr

__all__ = ["fegapd"]


def fegapd() -> xr.Dataset:
    """The Fe-Ga-Pd combinatorial thin-film library: 278 compositions, each with its XRD pattern, magnetisation
    and DFT phase region.

    From NIST's "remi" collection (``data/Combinatorial Libraries/Fe-Ga-Pd``), stored as published (XRD and
    magnetisation as float32) by ``scripts/build_fegapd.py``. Variables, over ``sample`` (278):

    - ``composition (sample, element)``: atomic fractions of Fe, Ga, Pd;
    - ``xrd (sample, two_theta)``: X-ray diffraction intensities at 551 angles from 37 to 48 degrees;
    - ``magnetization``: the scanning SQUID voltage, and ``magnetization_saturated_modified``, the same with the
      saturated values modified by a large Gaussian as in Kusne et al.;
    - ``dft_region``: the phase-region index computed by DFT, the customary reference for clustering (a
      reference, not the truth of every sample); the published indices run 0-4, and no sample has index 3.

    Cite, as the providers ask: A. G. Kusne et al., "On-the-fly closed-loop materials discovery via Bayesian
    active learning", Nature Communications 11, 5966 (2020); C. J. Long et al., "Rapid structural mapping of
    ternary metallic alloy systems using the combinatorial approach and cluster analysis", Review of
    Scientific Instruments 78, 072217 (2007).

    Examples
    --------
    >>> from phasemapper.datasets import fegapd
    >>> ds = fegapd()
    >>> dict(ds.sizes), [str(e) for e in ds.element.values]
    ({'sample': 278, 'element': 3, 'two_theta': 551}, ['Fe', 'Ga', 'Pd'])
    """
    with resources.as_file(resources.files("phasemapper") / "data" / "fegapd.nc") as path:
        return xr.load_dataset(path)
