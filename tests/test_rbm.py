"""models.RBM: free energy, exact partition function, AIS against it, training and sampling, all
checked by enumeration."""

import itertools
import math

import numpy as np
import pytest
from scipy.special import logsumexp

from phasemapper.models import RBM, all_states


def random_rbm(n_visible, n_hidden, scale, seed):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_hidden=n_hidden)
    rbm.weights_ = scale * rng.standard_normal((n_visible, n_hidden))
    rbm.visible_bias_ = 0.5 * rng.standard_normal(n_visible)
    rbm.hidden_bias_ = 0.5 * rng.standard_normal(n_hidden)
    return rbm


def test_free_energy_and_partition_function_match_the_joint_enumeration():
    rbm = random_rbm(6, 4, 1.0, 0)
    W, b, c = rbm.weights_, rbm.visible_bias_, rbm.hidden_bias_
    hidden = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    visible = all_states(6)
    # -E(v, h) = b.v + c.h + v W h, summed over every (v, h)
    neg_energy = (visible @ b)[:, None] + (hidden @ c)[None, :] + visible @ W @ hidden.T
    np.testing.assert_allclose(-rbm.free_energy(visible), logsumexp(neg_energy, axis=1), rtol=1e-12)
    assert rbm.log_partition_exact() == pytest.approx(logsumexp(neg_energy), rel=1e-12)
    np.testing.assert_allclose(rbm.probabilities_exact().sum(), 1.0)
    assert np.array_equal(rbm.free_energy(2 * visible - 1), rbm.free_energy(visible))  # spins read as bits


def test_ais_error_bars_cover_the_exact_partition_function_95_percent():
    # 40 random RBMs of 14 visible units, the exact log Z by enumeration. Calibrated error bars hold it
    # within 2 se for about 95% of them: at least 34 of 40 (binomial, p = 0.95: P(< 34) = 0.8%), and the
    # bars are not so wide that nearly every estimate falls within 1 se (a Gaussian puts 68% there)
    z = []
    for seed in range(40):
        rbm = random_rbm(14, 6, 0.6, seed)
        estimate, se = rbm.log_partition_ais(n_chains=200, n_temperatures=1000, seed=seed)
        z.append(abs(estimate - rbm.log_partition_exact()) / se)
    z = np.array(z)
    assert len(z) == 40 and np.sum(z < 2) >= 34 and np.mean(z < 1) < 0.9, z.round(2)


def test_training_recovers_a_distribution_it_can_represent():
    # independent bits: an RBM represents them exactly with its visible biases; KL(p || model) by enumeration
    rng = np.random.default_rng(1)
    q = np.array([0.9, 0.8, 0.2, 0.1, 0.5, 0.6, 0.3, 0.7, 0.95, 0.05])
    x = (rng.random((5000, 10)) < q).astype(float)
    rbm = RBM(n_hidden=4, n_epochs=20, learning_rate=0.05, seed=0).fit(x)
    states = all_states(10)
    p = np.prod(np.where(states == 1, q, 1 - q), axis=1)
    kl = float(np.sum(p * (np.log(p) - np.log(rbm.probabilities_exact()))))
    assert 0 <= kl < 0.02
    assert rbm.log_likelihood(x) == pytest.approx(
        np.mean(np.log(p[(x @ 2 ** np.arange(9, -1, -1)).astype(int)])), abs=0.03
    )


def test_gibbs_samples_follow_the_exact_distribution():
    from scipy.stats import chisquare

    rbm = random_rbm(4, 3, 1.0, 2)
    v = rbm.sample(20000, n_gibbs=50, seed=3)
    index = (v @ 2 ** np.arange(3, -1, -1)).astype(int)
    counts = np.bincount(index, minlength=16)
    assert chisquare(counts, 20000 * rbm.probabilities_exact()).pvalue > 0.001


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="bits 0/1 or spins"):
        RBM().fit(np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match="n_hidden"):
        RBM(n_hidden=0).fit(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="exact enumeration is limited to 24"):
        random_rbm(25, 25, 0.1, 0).log_partition_exact()
    with pytest.raises(ValueError, match="exact enumeration is limited to 24"):
        random_rbm(25, 2, 0.1, 0).probabilities_exact()
    assert math.isfinite(random_rbm(25, 2, 0.1, 0).log_partition_exact())  # through the two hidden units


@pytest.mark.parametrize("n_visible, n_hidden", [(6, 4), (4, 6)])
def test_partition_function_by_either_layer_matches_the_joint_enumeration(n_visible, n_hidden):
    # the smaller layer is enumerated: hidden states for (6, 4), visible states for (4, 6)
    rbm = random_rbm(n_visible, n_hidden, 1.0, 3)
    W, b, c = rbm.weights_, rbm.visible_bias_, rbm.hidden_bias_
    visible, hidden = all_states(n_visible), all_states(n_hidden)
    joint = (visible @ b)[:, None] + (hidden @ c)[None, :] + visible @ W @ hidden.T
    assert rbm.log_partition_exact() == pytest.approx(logsumexp(joint), rel=1e-12)


def test_fit_distribution_recovers_a_distribution_the_class_holds():
    q = random_rbm(6, 2, 1.5, 4).probabilities_exact()
    kl = {n: float(np.sum(q * np.log(q / RBM(n_hidden=n, seed=0).fit_distribution(q).probabilities_exact())))
          for n in (1, 2)}
    assert kl[2] < 1e-4 < kl[1]  # two hidden units represent it exactly; one does not


def test_fit_distribution_prior_shrinks_the_parameters_of_a_finite_sample():
    q = random_rbm(6, 2, 1.5, 5).probabilities_exact()
    rng = np.random.default_rng(0)
    empirical = np.bincount(rng.choice(q.size, size=50, p=q), minlength=q.size) / 50
    norms = [np.linalg.norm(RBM(n_hidden=2, seed=0).fit_distribution(
        empirical, n_samples=50, prior_precision=tau).weights_) for tau in (0.01, 1.0, 100.0)]
    assert norms[0] > norms[1] > norms[2]
    with pytest.raises(ValueError, match="probabilities"):
        RBM(n_hidden=2).fit_distribution(np.full(6, 1 / 6))
    with pytest.raises(ValueError, match="n_samples"):
        RBM(n_hidden=2).fit_distribution(q, n_samples=0)
