"""Labelers: the physics labelers against closed forms, the direct and detector labelers."""

from __future__ import annotations

import numpy as np
import pytest

import phasemapper as pm
from phasemapper import Samples
from phasemapper.labelers import (
    DetectorLabeler,
    DirectLabeler,
    OrderParameterLabeler,
    TasepLabeler,
)
from phasemapper.systems import TASEP


# ------------------------------------------------------------------ labelers
def test_order_parameter_labeler_closed_forms():
    rng = np.random.default_rng(0)
    # disordered: Gaussian m gives U4 = 0 exactly in expectation; ordered: m = +-m0 gives U4 = 2/3
    gauss = Samples(np.zeros((400, 1)), {"magnetization": rng.normal(0, 0.1, 400)})
    ordered = Samples(np.zeros((400, 1)), {"magnetization": 0.8 * rng.choice([-1.0, 1.0], 400)})
    lab = OrderParameterLabeler()
    assert lab(gauss, [3.0])[1] > 0.99
    assert lab(ordered, [1.0])[0] > 0.99
    with pytest.raises(ValueError, match="critical_value"):
        OrderParameterLabeler(critical_value=1.5)
    with pytest.raises(ValueError, match="observable 'q'"):
        OrderParameterLabeler(observable="q")(gauss, [1.0])


def test_tasep_labeler_against_exact_bulk_phases():
    system, lab = TASEP(L=100), TasepLabeler()
    points = np.array([[0.2, 0.8], [0.8, 0.2], [0.8, 0.8]])  # deep in LD, HD, MC (Derrida et al. 1993)
    got = [system.phases[int(np.argmax(lab(system.sample(p, 20, seed=1), p)))] for p in points]
    assert got == system.reference_phase(points).tolist()


def test_direct_and_detector_labelers():
    s = Samples(np.zeros((4, 0)), {"label": np.array([0.0, 2.0, 2.0, 2.0])})
    assert DirectLabeler(["a", "b", "c"])(s, [0.0]).tolist() == [0.25, 0.0, 0.75]
    lab = DetectorLabeler([pm.CriticalPoint("T", 2.0, 0.1, "x")], 0, ("lo", "hi"))
    # P(below) = Phi((2.0 - 2.1) / 0.1) = Phi(-1) = 0.158655
    assert lab(None, [2.1])[0] == pytest.approx(0.158655, abs=1e-5)


def _sgd_runs(**observables):
    n = len(next(iter(observables.values())))
    base = {"diverged": np.zeros(n), "drift": np.ones(n), "noise": np.zeros(n), "alignment": np.full(n, 0.5),
            "q": np.full(n, 0.1)}
    return Samples(np.zeros((n, 1)), {**base, **{k: np.asarray(v, dtype=float) for k, v in observables.items()}})


def test_sgd_labeler_sorts_each_run_by_divergence_the_dyson_criterion_and_its_features():
    from phasemapper.labelers import SGDPhaseLabeler

    lab = SGDPhaseLabeler()
    runs = _sgd_runs(diverged=[1, 0, 0, 0, 0], noise=[0, 0, 0, 0, 1e9], q=[0.1, 0.1, 0.1, 0.9, 0.1])
    # run 0 diverged, runs 1-2 ferro (alignment 0.5 > q 0.1), run 3 spin glass (q 0.9), run 4 para (noise wins)
    assert lab.run_labels(runs, [0.1, 1.0]).tolist() == [3, 0, 0, 2, 1]
    np.testing.assert_allclose(lab(runs, [0.1, 1.0]), (np.array([2, 1, 1, 1]) + 0.5) / 7)
    # the criterion as the paper writes it: drift / sqrt(2) / 15 >= T noise / (4 sigma_w^2), here at the edge
    edge = _sgd_runs(drift=[np.sqrt(2) * 15 * 0.25], noise=[1.0])
    assert lab.run_labels(edge, [1.0, 1.0]).tolist() == [0]  # equal: drift wins
    assert lab.run_labels(edge, [1.0 + 1e-9, 1.0]).tolist() == [1]  # a little hotter: para
    assert lab.run_labels(edge, [1.0 + 1e-9, 1.0 + 1e-9]).tolist() == [0]  # wider initial weights: drift again
    with pytest.raises(ValueError, match="lack the observables"):
        lab(Samples(np.zeros((2, 1)), {"q": np.zeros(2)}), [0.1, 1.0])
    with pytest.raises(ValueError, match="min_runs"):
        SGDPhaseLabeler(min_runs=8)(runs, [0.1, 1.0])


def test_perceptron_labeler_sorts_each_run_by_its_weight_change_and_its_replica():
    from phasemapper.labelers import PerceptronPhaseLabeler

    lab = PerceptronPhaseLabeler(cold_factor=4.0)
    runs = Samples(np.zeros((5, 1)), {"rel_change": np.array([0.5, 1.5, 0.5, 1.5, 1.5]),
                                      "norm_ratio": np.array([1.0, 1.9, 2.1, 3.9, 3.9]),
                                      "cold_fitted": np.array([1.0, 1.0, 1.0, 1.0, 0.0])})
    # lazy, feature, lazy + noise (ratio above sqrt 4 = 2), feature + noise; an unfitted replica counts as GD
    assert [lab.phases[i] for i in lab.run_labels(runs, [1.0, 1.0])] == [
        "lazy", "feature", "lazy_noisy", "feature_noisy", "feature"]
    np.testing.assert_allclose(lab(runs, [1.0, 1.0]), (np.array([1, 2, 1, 1]) + 0.5) / 7)
    with pytest.raises(ValueError, match="norm_ratio"):
        lab(Samples(np.zeros((2, 1)), {"rel_change": np.zeros(2)}), [1.0, 1.0])


def test_gan_labeler_calls_unsettled_or_diverged_runs_oscillating_and_settled_ones_by_their_modes():
    from phasemapper.labelers import GANPhaseLabeler

    lab = GANPhaseLabeler(motion_tol=0.25)
    # collapse ln 2 is exp(entropy) = 4 = half of 8 modes: the edge counts as covered
    runs = Samples(np.zeros((5, 1)), {"collapse": np.array([0.0, np.log(2.0), np.log(2.0) + 1e-9, 0.0, 0.0]),
                                      "motion": np.array([0.0, 0.0, 0.0, 0.26, 0.0]),
                                      "diverged": np.array([0.0, 0.0, 0.0, 0.0, 1.0])})
    assert [lab.phases[i] for i in lab.run_labels(runs, [0.1, 0.01])] == [
        "covered", "covered", "collapsed", "oscillating", "oscillating"]
    np.testing.assert_allclose(lab(runs, [0.1, 0.01]), (np.array([2, 1, 2]) + 0.5) / 6.5)
