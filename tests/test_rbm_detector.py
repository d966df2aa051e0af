"""detectors.RBM and the exact distributions it is measured against: Ising and TASEP by enumeration against
the test suite's own, the error decomposition's properties, contract, registration."""

import numpy as np
import pytest

import phasemapper as pm
from phasemapper.detectors import DETECTORS, RBM
from phasemapper.detectors._generative import kl_divergence
from phasemapper.models import all_states, ising_distribution, state_index, tasep_distribution
from phasemapper.systems import TASEP, Ising2D


def test_ising_distribution_matches_the_state_count_enumeration():
    from exact_ising import exact_observables

    s = 2 * all_states(16) - 1
    m = s.mean(axis=1)
    for T in (1.5, 2.3, 4.0):
        p, exact = ising_distribution(4, T), exact_observables(4, T)
        assert p @ np.abs(m) == pytest.approx(exact["abs_m"], rel=1e-10)
        assert p @ m**4 == pytest.approx(exact["m4"], rel=1e-10)
    p = ising_distribution(3, 2.0, h=0.5)  # a field favours up spins
    assert p @ (2 * all_states(9) - 1).mean(axis=1) > 0.5


@pytest.mark.parametrize("alpha, beta", [(0.3, 0.7), (0.8, 0.2), (0.5, 0.5)])
def test_tasep_distribution_matches_the_dense_master_equation(alpha, beta):
    from test_systems_exact_more import tasep_stationary

    profile, current = tasep_stationary(6, alpha, beta)  # bit i of the state index is site i there
    p, occupation = tasep_distribution(6, alpha, beta), all_states(6)
    np.testing.assert_allclose(p @ occupation, profile, atol=1e-12)
    assert p @ (occupation[:, 0] * (1 - occupation[:, 1])) == pytest.approx(current, abs=1e-12)


def test_state_index_inverts_all_states():
    assert np.array_equal(state_index(all_states(5)), np.arange(32))


@pytest.fixture(scope="module")
def ising3():
    return pm.scan(Ising2D(L=3), {"T": np.linspace(1.5, 4.0, 6)}, 400, seed=2, progress=False)


@pytest.fixture(scope="module")
def fitted3(ising3):
    return RBM(hidden=(1, 4), n_train=100, n_repeats=2, n_bootstrap=20, seed=0).fit(ising3)


def test_error_decomposition_against_independent_kl(fitted3, ising3):
    # model error: KL(q || machine fitted to q) recomputed here; generalisation error >= 0 and the
    # data error is their difference by construction
    from phasemapper.models import RBM as Machine

    errors = fitted3.errors_.sel(L=3)
    q = ising_distribution(3, 2.5)
    again = kl_divergence(q, Machine(n_hidden=4, seed=0).fit_distribution(q).probabilities_exact())
    assert float(errors["model"].sel(T=2.5, hidden=4)) == pytest.approx(again, rel=1e-6)
    assert (errors["generalisation"] > 0).all() and (errors["model"] >= -1e-9).all()
    np.testing.assert_allclose(errors["data"], errors["generalisation"].mean("repeat") - errors["model"])
    # more hidden units never represent less: the model error falls with the hidden units at every T
    assert (errors["model"].diff("hidden") < 1e-3).all()
    best = errors["generalisation"].mean("repeat").argmin("hidden")
    assert np.array_equal(fitted3.optimal_hidden_.sel(L=3).values, errors["hidden"].values[best.values])


def test_data_error_shrinks_with_more_training_data(ising3):
    # the same machines on 25 and on 120 samples per training set, at T = 3.0, 3.5 and 4.0 (two training sets
    # each): a fifth of the data must cost more
    line = ising3.isel(point=[3, 4, 5])
    small = RBM(hidden=(2, 8), n_train=25, n_repeats=2, n_bootstrap=5).fit(line).errors_["data"]
    large = RBM(hidden=(2, 8), n_train=120, n_repeats=2, n_bootstrap=5).fit(line).errors_["data"]
    assert (small > large).all(), (small.values, large.values)


def test_contract_reproducible_with_critical_points(fitted3, ising3):
    assert fitted3.indicator_.dims == ("L", "T") and set(fitted3.curves_) == {
        "data_error", "generalisation_error", "model_error", "optimal_hidden"}
    assert fitted3.critical_points_, "no critical point: the loop below would check nothing"
    for cp in fitted3.critical_points_:
        assert cp.axis == "T" and np.isfinite(cp.value) and cp.uncertainty > 0
    small = dict(hidden=(1, 2), n_train=20, n_repeats=2, n_bootstrap=5, seed=1)
    first, again = (RBM(**small).fit(ising3.isel(point=[0, 2, 4])) for _ in range(2))
    np.testing.assert_array_equal(first.errors_["generalisation"], again.errors_["generalisation"])
    assert DETECTORS["rbm"] is RBM
    assert RBM(hidden="1+4")._check() == (1, 4)


def test_tasep_grid_uses_the_exact_stationary_state():
    ds = pm.scan(TASEP(L=6), {"alpha": [0.2, 0.5, 0.8], "beta": [0.3, 0.3, 0.3]}, 40, seed=0,
                 executor=pm.SerialExecutor(), progress=False)
    det = RBM(axis="alpha", hidden=(1, 2), n_train=20, n_repeats=2, n_bootstrap=5).fit(ds)
    model = det.errors_["model"].sel(L=6)
    q = tasep_distribution(6, 0.5, 0.3)
    from phasemapper.models import RBM as Machine

    again = kl_divergence(q, Machine(n_hidden=2, seed=0).fit_distribution(q).probabilities_exact())
    assert float(model.sel(alpha=0.5, hidden=2)) == pytest.approx(again, rel=1e-6)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: RBM(hidden=(4,)), "hidden"),
        (lambda: RBM(hidden=(2, 2)), "hidden"),
        (lambda: RBM(hidden="1+x"), "hidden: numbers joined by"),
        (lambda: RBM(n_train=1), "n_train"),
        (lambda: RBM(n_repeats=1), "n_repeats"),
        (lambda: RBM(prior_precision=-1), "prior_precision"),
        (lambda: RBM(exact="ising"), "exact"),
        (lambda: RBM(n_train=300, n_repeats=2), "n_train"),
    ],
)
def test_bad_parameters_name_the_field(make, words, ising3):
    with pytest.raises(ValueError, match=words):
        make().fit(ising3)


def test_inputs_it_cannot_use_are_named():
    small = pm.scan(Ising2D(L=3), {"T": [2.0, 2.5, 3.0]}, 10, seed=0, executor=pm.SerialExecutor(), progress=False)
    small.attrs["system"] = "potts2d"  # no exact distribution: held-out errors, which need more samples
    with pytest.raises(ValueError, match="held-out errors need 20 samples"):
        RBM(n_train=5, n_repeats=2).fit(small)
    angles = small.assign(configuration=small["configuration"] * 0.5)
    with pytest.raises(ValueError, match="two-state sites"):
        RBM(n_train=5, n_repeats=2).fit(angles)
