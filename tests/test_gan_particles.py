"""GANParticles: the mode-collapse order parameter and the kernel in closed form, rigid motion at kernel ratio 1,
batched runs equal to runs alone, and diverging runs that stop where they stood."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from phasemapper.systems import GANParticles, mode_collapse, ring_modes  # noqa: E402
from phasemapper.systems._gan import _train  # noqa: E402

SMALL = {"steps": 60, "n_particles": 12, "hidden": 8, "batch_size": 16}


def _draws(system, n, seed=0):
    runs = [system._draw_run(child) for child in np.random.SeedSequence(seed).spawn(n)]
    return {key: np.stack([r[key] for r in runs]) for key in runs[0]}


@pytest.mark.parametrize("counts", [[8, 0, 0, 0], [4, 4, 0, 0], [2, 2, 2, 2], [5, 1, 1, 1]])
def test_the_collapse_is_log_modes_minus_the_entropy_of_the_shares(counts):
    modes = ring_modes(4, 3.0)
    points = np.concatenate([np.repeat(modes[k : k + 1], c, axis=0) for k, c in enumerate(counts)])
    points = points + 0.1 * np.random.default_rng(0).standard_normal(points.shape)  # still nearest their mode
    p = np.array(counts, dtype=float) / sum(counts)
    expected = math.log(4) + sum(x * math.log(x) for x in p if x > 0)
    assert float(mode_collapse(points, modes)) == pytest.approx(expected, abs=1e-12)


def test_the_kernel_moves_the_centre_at_full_speed_and_the_differences_at_one_minus_the_ratio():
    system = GANParticles(**SMALL)
    N, r = system.n_particles, 0.3
    eigenvalues = np.sort(np.linalg.eigvalsh(system.kernel(r)))
    # K = ((1 - r) I + r 1 1^T) / (1 + (N - 1) r): 1 on the common mode, (1 - r) / (1 + (N - 1) r) on the rest
    assert eigenvalues[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(eigenvalues[:-1], (1 - r) / (1 + (N - 1) * r))


def test_at_kernel_ratio_one_the_particles_move_as_one():
    system = GANParticles(**SMALL)
    draws = _draws(system, 2)
    final = _train(draws, system, 1.0, 0.05)["snapshots"][:, -1]
    shift = final - draws["x"]
    assert np.abs(shift).max() > 1e-3  # they moved
    np.testing.assert_allclose(shift, np.broadcast_to(shift[:, :1], shift.shape), atol=1e-12)


def test_a_run_trained_in_a_batch_equals_the_run_trained_alone():
    system = GANParticles(**SMALL, gradient_penalty=0.5)
    draws = _draws(system, 3, seed=4)
    together = _train(draws, system, 0.1, 0.05)
    alone = _train({k: v[1:2] for k, v in draws.items()}, system, 0.1, 0.05)
    # the particles at every record, the end included
    np.testing.assert_allclose(together["snapshots"][1:2], alone["snapshots"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(together["start_last_tenth"][1:2], alone["start_last_tenth"], rtol=1e-10, atol=1e-12)


def test_a_diverging_run_stops_where_it_stood_and_its_observables_stay_finite():
    system = GANParticles(steps=300, n_particles=16, hidden=16, gradient_penalty=10.0)
    s = system.sample([0.01, 0.1], 4, seed=0)
    obs = s.observables
    assert obs["diverged"].any(), "this strong penalty at this rate should diverge some runs"
    assert all(np.all(np.isfinite(v)) for v in obs.values()) and np.all(np.isfinite(s.configurations))
    assert np.all(np.abs(s.configurations) < 100 * system.radius)
    assert not np.any(obs["converged"][obs["diverged"] > 0])


def test_particles_learn_every_mode_when_the_kernel_lets_them_move_apart():
    system = GANParticles(steps=1500)
    obs = system.sample([0.01, 0.1], 4, seed=0).observables
    # the target's own mixture assigned to its modes has collapse ~ 0; 64 particles over 8 modes
    # have a multinomial spread: E[collapse] ~ (8 - 1) / (2 * 64) = 0.055 for an even draw
    assert np.all(obs["modes_covered"] == 8) and np.all(obs["collapse"] < 0.25)
    assert np.all(obs["mode_distance"] < 0.2)


@pytest.mark.parametrize("name, value", [("n_particles", 1), ("lr_g", 0.0), ("mode_std", -1.0), ("n_modes", 1),
                                         ("converge_tol", 0.0)])
def test_a_bad_parameter_names_the_field(name, value):
    with pytest.raises((TypeError, ValueError), match=name):
        GANParticles(**{name: value})
