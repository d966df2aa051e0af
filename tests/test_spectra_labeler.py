"""SpectraLabeler: regions recovered on a synthetic library with known regions, and on Fe-Ga-Pd."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, fowlkes_mallows_score

from phasemapper import Simplex
from phasemapper.datasets import fegapd
from phasemapper.labelers import SpectraLabeler, pattern_similarity

TT = np.linspace(37.0, 48.0, 551)


def _peaks(centres, width=0.08):
    return sum(np.exp(-0.5 * ((TT - c) / width) ** 2) for c in centres)


def _shifted(centres, strain):
    """Peaks of a lattice expanded by ``strain``: sin(theta) shrinks by 1 / (1 + strain)."""
    theta = np.radians(np.asarray(centres) / 2)
    return np.degrees(2 * np.arcsin(np.sin(theta) / (1 + strain)))


def synthetic_library(seed=0, strain=0.012, n_edge=14):
    """Three regions of a ternary (by the largest fraction), each with its own peaks, every
    peak shifted by a strain growing across the region with the Ga fraction, plus noise."""
    rng = np.random.default_rng(seed)
    comp = Simplex(["Fe", "Ga", "Pd"]).grid(n_edge)
    region = comp.argmax(axis=1)
    peaks = {0: [40.0, 44.6], 1: [38.5, 42.0, 46.5], 2: [41.0, 45.4]}
    xrd = np.array([_peaks(_shifted(peaks[r], strain * c[1])) for r, c in zip(region, comp)])
    xrd += 0.05 * rng.random(xrd.shape) + 0.2
    return comp, xrd, region


def test_pattern_similarity_is_shift_tolerant_within_the_strain_only():
    a, b = _peaks([44.0]), _peaks(_shifted([44.0], 0.008))
    # two Gaussians of width s a distance d apart have cosine similarity exp(-d^2 / 4 s^2)
    d = 44.0 - _shifted([44.0], 0.008)[0]
    plain = pattern_similarity(np.array([a, b]), TT)[0, 1]
    assert plain == pytest.approx(np.exp(-(d**2) / (4 * 0.08**2)), abs=0.01)
    assert pattern_similarity(np.array([a, b]), TT, 0.01)[0, 1] > 0.99
    assert plain < pattern_similarity(np.array([a, b]), TT, 0.004)[0, 1] < 0.5


def test_regions_of_a_synthetic_library_are_recovered_with_their_number():
    comp, xrd, region = synthetic_library()
    lab = SpectraLabeler().fit(xrd, two_theta=TT, compositions=comp)
    assert lab.n_regions_ == 3
    assert adjusted_rand_score(region, lab.labels_) == 1.0
    assert lab.proba_.shape == (len(comp), 3)
    np.testing.assert_allclose(lab.proba_.sum(axis=1), 1.0)
    assert np.all(lab.proba_.argmax(axis=1) == lab.labels_)
    # regions numbered in order of their first sample
    assert lab.labels_[0] == 0 and set(lab.labels_[: np.argmax(lab.labels_ == 2)]) <= {0, 1}
    # end members: one NMF component per region, each peaking at one region's strongest peak
    assert lab.endmembers_.shape == (3, len(TT)) and lab.abundances_.shape == (len(comp), 3)
    np.testing.assert_allclose(lab.endmembers_.max(axis=1), 1.0)
    assert lab.region_patterns_.shape == (3, len(TT))


def test_without_strain_tolerance_a_shifted_region_splits():
    # 55 samples, peaks moving by up to 5% strain: neighbours' peaks no longer overlap
    comp, xrd, region = synthetic_library(strain=0.05, n_edge=10)
    tolerant = SpectraLabeler(max_strain=0.06).fit(xrd, two_theta=TT, compositions=comp)
    rigid = SpectraLabeler(max_strain=0.0).fit(xrd, two_theta=TT, compositions=comp)
    assert adjusted_rand_score(region, tolerant.labels_) == 1.0
    assert adjusted_rand_score(region, rigid.labels_) < 0.5


def test_fegapd_regions_agree_with_dft_better_than_plain_cosine_clustering():
    from sklearn.cluster import SpectralClustering

    ds = fegapd()
    dft = ds["dft_region"].values
    lab = SpectraLabeler().fit(ds)
    fmi = fowlkes_mallows_score(dft, lab.labels_)
    # the baseline: cosine similarity of the raw patterns, spectral clustering, 5 clusters
    x = ds["xrd"].values / np.linalg.norm(ds["xrd"].values, axis=1, keepdims=True)
    plain = SpectralClustering(5, affinity="precomputed", random_state=0).fit_predict(np.clip(x @ x.T, 0, None))
    assert fowlkes_mallows_score(dft, plain) == pytest.approx(0.62, abs=0.01)
    assert fmi >= 0.70
    assert adjusted_rand_score(dft, lab.labels_) > adjusted_rand_score(dft, plain)


@pytest.mark.parametrize(
    "kwargs, fit, match",
    [
        ({"n_regions": 1}, {}, "n_regions"),
        ({"max_strain": 0.5}, {}, "max_strain"),
        ({"neighbours": "yes"}, {}, "neighbours"),
        ({}, {"two_theta": TT[:-1]}, "two_theta"),
        ({}, {"compositions": None}, "compositions"),
    ],
)
def test_bad_input_names_the_field(kwargs, fit, match):
    comp, xrd, _ = synthetic_library()
    args = {"two_theta": TT, "compositions": comp, **fit}
    with pytest.raises((ValueError, TypeError), match=match):
        SpectraLabeler(**kwargs).fit(xrd, **args)


def test_links_join_samples_a_person_says_belong_together():
    comp, xrd, region = synthetic_library()
    together = np.isin(region, [0, 1])
    links = np.outer(together, together).astype(float)
    lab = SpectraLabeler().fit(xrd, two_theta=TT, compositions=comp, links=links)
    assert lab.n_regions_ == 2 and len(set(lab.labels_[together])) == 1
    assert adjusted_rand_score(together, lab.labels_) == 1.0
    with pytest.raises(ValueError, match="links must be"):
        SpectraLabeler().fit(xrd, two_theta=TT, compositions=comp, links=links[:-1])
