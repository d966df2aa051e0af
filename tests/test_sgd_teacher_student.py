"""SGDTeacherStudent: the gradient, the batched training and the paper's observables, checked against direct
computations (autograd, a run trained alone, loops over the test inputs)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from phasemapper.systems._sgd import (  # noqa: E402 - after the skip
    K_HIDDEN,
    L_HIDDEN,
    SGDTeacherStudent,
    _draw_run,
    first_layer_feature_variance,
    layer_gradient,
)

SMALL = {"n_train": 400, "steps": 400, "n_test": 32}
POINT = [2.0**-3, 0.5]


def test_the_gradient_is_autograds():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(2, K_HIDDEN, L_HIDDEN, generator=g, dtype=torch.float64, requires_grad=True)
    s0 = torch.tanh(torch.randn(2, 5, L_HIDDEN, generator=g, dtype=torch.float64))
    y = torch.randn(2, 5, 1, generator=g, dtype=torch.float64)
    Z = torch.randn(2, 1, K_HIDDEN, generator=g, dtype=torch.float64)
    grad, loss = layer_gradient(W.detach(), s0, y, Z, per_sample=True)
    out = torch.einsum("nok,nbk->nbo", Z, torch.tanh(torch.einsum("nkl,nbl->nbk", W, s0)))
    (0.5 * ((out - y) ** 2).sum(-1)).mean(-1).sum().backward()
    np.testing.assert_allclose(grad.mean(1).numpy(), W.grad.numpy(), rtol=1e-12, atol=1e-14)
    mean, _ = layer_gradient(W.detach(), s0, y, Z)
    np.testing.assert_allclose(mean.numpy(), W.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.numpy(), (0.5 * ((out - y) ** 2).sum(-1)).detach().numpy(), rtol=1e-14)


def test_a_run_trained_in_a_batch_equals_the_run_trained_alone():
    system = SGDTeacherStudent(**SMALL)
    batch, alone = system.sample(POINT, 3, seed=11), system.sample(POINT, 1, seed=11)
    np.testing.assert_allclose(batch.configurations[:1], alone.configurations, rtol=1e-6)
    for name, values in alone.observables.items():
        np.testing.assert_allclose(batch.observables[name][:1], values, rtol=1e-9, atol=1e-15, err_msg=name)
    assert not np.array_equal(batch.configurations[0], batch.configurations[1])  # runs differ


def test_without_a_learning_rate_nothing_moves_and_q_is_the_initial_self_overlap():
    system = SGDTeacherStudent(**SMALL)
    s = system.sample([1e-300, 0.5], 2, seed=3)
    np.testing.assert_array_equal(s.configurations, np.repeat(s.configurations[:, :1], system.n_checkpoints, axis=1))
    assert np.all(s.observables["gap_growth"] == 0) and np.all(s.observables["diverged"] == 0)
    for i, child in enumerate(np.random.SeedSequence(3).spawn(2)):  # q = <s_0 . s_0> / (n K), from the draws
        draws = _draw_run(child, system.n_train, system.n_test, 0.5)
        s_init = np.tanh(np.tanh(draws["x_test"] @ draws["M"].T) @ draws["W0"].T)
        assert s.observables["q"][i] == pytest.approx((s_init**2).sum() / (system.n_test * K_HIDDEN), rel=1e-12)
        top = np.linalg.svd(draws["W0"], compute_uv=False)
        np.testing.assert_allclose(s.configurations[i, 0], top, rtol=1e-6)


def test_sgd_at_low_temperature_learns_the_teacher():
    system = SGDTeacherStudent(n_train=400, steps=2000, n_test=64)
    trained = system.sample([2.0**-3, 0.25], 4, seed=5)
    untrained = system.sample([1e-300, 0.25], 4, seed=5)
    assert np.all(trained.observables["test_mse"] < 0.5 * untrained.observables["test_mse"])
    assert np.all(trained.observables["alignment"] > untrained.observables["alignment"])


def test_a_run_whose_loss_passes_the_limit_diverges_and_stops_where_it_stood():
    s = SGDTeacherStudent(**SMALL, divergence_loss=1e-12).sample(POINT, 2, seed=1)
    assert np.all(s.observables["diverged"] == 1) and np.all(s.observables["steps_run"] == 0)
    np.testing.assert_array_equal(s.configurations[:, -1], s.configurations[:, 0])


def test_the_dyson_terms_match_a_loop_over_the_test_inputs():
    from phasemapper.systems._sgd import _dyson_terms

    rng = np.random.default_rng(2)
    W = rng.standard_normal((1, K_HIDDEN, L_HIDDEN)) / np.sqrt(L_HIDDEN)
    st0 = np.tanh(rng.standard_normal((1, 7, L_HIDDEN)))
    Z = rng.standard_normal((1, 1, K_HIDDEN)) / 4
    y = rng.standard_normal((1, 7, 1))
    drift, noise = _dyson_terms(*(torch.from_numpy(a) for a in (W, st0, y, Z)))
    updates = []
    for b in range(7):  # dX = W G^T + G W^T for each input's gradient G
        h = np.tanh(W[0] @ st0[0, b])
        G = np.outer((Z[0, 0] @ h - y[0, b, 0]) * Z[0, 0] * (1 - h**2), st0[0, b])
        updates.append(W[0] @ G.T + G @ W[0].T)
    updates = np.array(updates)
    values, U = np.linalg.eigh(W[0] @ W[0].T)
    U = U[:, ::-1]
    projected = np.array([U.T @ update @ U for update in updates])
    mean_t, var_t = projected.mean(0), projected.var(0)
    K = K_HIDDEN
    expected_noise = 2 * var_t[0, K - 1] / (K - 1) + sum((var_t[0, k] + var_t[K - 1, K - k]) / k for k in range(1, K - 1))
    assert drift[0] == pytest.approx(abs(mean_t[0, 0]) - abs(mean_t[K - 1, K - 1]), rel=1e-9)
    assert noise[0] == pytest.approx(expected_noise, rel=1e-9)
    flipped = U * np.where(np.arange(K) % 2, -1.0, 1.0)  # another sign for every other eigenvector
    reprojected = np.array([flipped.T @ update @ flipped for update in updates]).var(0)
    assert np.allclose(reprojected, var_t)  # the noise does not depend on the eigenvectors' signs


@pytest.mark.parametrize("name, value", [("n_train", 0), ("batch_size", 10_000), ("steps", 2.5),
                                         ("n_checkpoints", 1), ("divergence_loss", 0.0)])
def test_a_bad_parameter_names_the_field(name, value):
    with pytest.raises((TypeError, ValueError), match=name):
        SGDTeacherStudent(**{name: value})


def test_the_first_layer_feature_variance_is_a_monte_carlo_mean_of_tanh_squared():
    rng = np.random.default_rng(0)
    n = 1_000_000
    m = rng.standard_normal((n, 3)) / np.sqrt(3.0)
    values = np.tanh((m * rng.standard_normal((n, 3))).sum(1)) ** 2
    error = values.std() / np.sqrt(n)
    assert abs(first_layer_feature_variance() - values.mean()) < 4 * error
    # the bimodality line: Var(h) = sigma_w^2 E[tanh^2] = 1/2
    assert SGDTeacherStudent.bimodal_sigma_w() ** 2 * first_layer_feature_variance() == pytest.approx(0.5)


def test_the_reference_line_is_the_bimodality_line_at_every_temperature():
    system = SGDTeacherStudent(**SMALL)
    for T in (2.0**-5, 1.0, 8.0):
        (cp,) = system.reference_transitions("sigma_w", at={"T": T})
        assert cp.value == pytest.approx(system.bimodal_sigma_w(), rel=1e-6)
    assert [cp.axis for cp in system.reference_critical_points()] == ["sigma_w"]


def test_a_scan_study_of_a_system_without_a_lattice_size_locates_a_line_in_sigma_w(tmp_path):
    import phasemapper as pm
    from phasemapper.study import scan_study

    summary = scan_study([SGDTeacherStudent(**SMALL)], {"sigma_w": list(np.geomspace(0.3, 5.0, 6)), "T": [2.0**-5]},
                         6, tmp_path / "study", seed=0, detectors={"pca": {}}, executor=pm.SerialExecutor(),
                         progress=False)
    assert summary["failures"] == [] and summary["critical_points"], "the PCA detector gave no estimate"
    for cp in summary["critical_points"]:
        assert cp["axis"] == "sigma_w" and cp["exact"] == pytest.approx(SGDTeacherStudent.bimodal_sigma_w())
