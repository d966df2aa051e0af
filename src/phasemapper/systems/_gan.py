"""Mode collapse in GAN training: the effective model whose generator is a set of particles coupled by a kernel.

After S. Durr, Y. Mroueh, Y. Tu and S. Wang, "Effective dynamics of generative adversarial networks",
Phys. Rev. X 13, 041004 (2023), arXiv:2212.04580, and the analysis of their data
(github.com/durrcommasteven/effective-gan-mnist-data, ``Unpack_Analyze_Data.ipynb``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_number, check_positive_int
from .._extras import require
from .._space import Axis, Space
from .._types import Samples
from ._base import System, register_system

__all__ = ["GANParticles", "ring_modes", "mode_collapse"]


def ring_modes(n_modes: int, radius: float) -> np.ndarray:
    """The ``(n_modes, 2)`` centres of the target mixture, evenly spaced on a circle of ``radius``."""
    angle = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.column_stack([np.cos(angle), np.sin(angle)])


def mode_collapse(points: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """``ln(n_modes) + sum_k p_k ln p_k`` of each run's points assigned to their nearest mode (0: every mode
    equally covered; ``ln(n_modes)``: all in one mode), as in the authors' analysis.

    ``points`` is ``(..., n_points, 2)``; returns the leading shape.

    Examples
    --------
    >>> import numpy as np
    >>> modes = ring_modes(4, 1.0)
    >>> round(float(mode_collapse(modes[[0, 1, 2, 3]], modes)), 12), round(float(mode_collapse(modes[[0, 0, 0, 0]], modes)), 6)
    (0.0, 1.386294)
    """
    return _collapse(_mode_shares(_mode_distances(points, modes).argmin(-1), len(modes)))


def _mode_distances(points: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """Distance of each point to each mode: ``(..., n_points, n_modes)``."""
    return np.linalg.norm(points[..., :, None, :] - modes, axis=-1)


def _mode_shares(nearest: np.ndarray, n_modes: int) -> np.ndarray:
    """The share of the points nearest each mode: ``(..., n_modes)``."""
    return np.stack([(nearest == k).mean(-1) for k in range(n_modes)], axis=-1)


def _collapse(shares: np.ndarray) -> np.ndarray:
    from scipy.stats import entropy

    return math.log(shares.shape[-1]) - entropy(shares, axis=-1)


class GANParticles(System):
    """A GAN whose generator is ``n_particles`` points in the plane that move together through a kernel.

    The effective model of Durr, Mroueh, Tu & Wang (2023): a wide generator network acts on its outputs
    ``x_i`` through its neural tangent kernel, which for wide networks and high-dimensional inputs is
    ``K(i, i) = g1`` and ``K(i, j) = g2``. Each step, the discriminator (a ReLU network ``2 -> hidden ->
    hidden -> 1``) takes one SGD step of size ``lr_d`` on the cross-entropy of ``batch_size`` real points against
    the particles, plus ``gradient_penalty / 2`` times the mean squared gradient at the real points (R1); then
    every particle moves by ``-lr_g K grad L_G`` with the non-saturating loss ``L_G = sum_i softplus(-D(x_i))``.
    ``K`` is scaled to its largest eigenvalue ``g1 (1 + (N - 1) g2 / g1)``, so that the common motion of the
    particles has the same step whatever the ratio, and only their relative motion, ``(g1 - g2)``, slows as
    ``kernel_ratio = g2 / g1`` grows: at 1 they move as one.

    The target is a mixture of ``n_modes`` Gaussians (standard deviation ``mode_std``) on a circle of ``radius``
    (the paper's MNIST experiments are out of reach of two CPU cores). The particles start from
    ``N(0, init_std^2)``. Axes ``kernel_ratio`` and ``lr_d``, both logarithmic. Each run has its own particles,
    discriminator and real batches; the runs of a call train together in one float64 PyTorch program
    (the ``deep`` extra) and each equals the same run trained alone.

    Observables per run:

    - ``collapse``: :func:`mode_collapse` of the final particles (0: every mode covered);
    - ``modes_covered``: modes that hold at least one particle;
    - ``mode_distance``: mean distance of a particle to its nearest mode;
    - ``motion``: mean distance a particle moved over the last tenth of training, in units of the distance
      between neighbouring modes (large where the dynamics do not settle);
    - ``converged_step``: the first recorded step from which ``mode_distance`` stays below ``converge_tol``
      and ``collapse`` below ``ln 2`` (``steps`` if never), and ``converged`` (0 or 1);
    - ``diverged``: 1 if a step was not finite or threw a particle beyond 100 radii (a strong
      ``gradient_penalty`` with a large ``lr_d`` does this); the run then stops where it stood.

    Configurations are the final particles (``n_particles x 2``).
    Its default labeler is :class:`~phasemapper.labelers.GANPhaseLabeler`.

    Parameters
    ----------
    n_particles : int
        Generator particles ``N``.
    hidden : int
        Width of the discriminator's two hidden layers.
    steps : int
        Discriminator-generator step pairs.
    lr_g : float
        Generator step size.
    batch_size : int
        Real points per discriminator step.
    n_modes, radius, mode_std : int, float, float
        The target mixture.
    gradient_penalty : float
        Strength of the R1 regulariser (0: none).
    init_std : float
        Spread of the particles' start.
    n_records : int
        Times at which ``mode_distance`` and ``collapse`` are recorded (for ``converged_step``).
    converge_tol : float
        Largest ``mode_distance`` of a converged run.

    Examples
    --------
    >>> from phasemapper.systems import GANParticles
    >>> system = GANParticles(steps=50, n_particles=16, hidden=8)
    >>> s = system.sample([0.1, 0.01], n_samples=2, seed=0)  # kernel_ratio, lr_d
    >>> s.configurations.shape, sorted(s.observables)[:2]
    ((2, 16, 2), ['collapse', 'converged'])
    """

    name = "gan_particles"
    reference = "Durr, Mroueh, Tu & Wang 2023"
    phases = ("covered", "collapsed", "oscillating")
    site_dims = ("particle", "coordinate")
    config_dtype = np.float32

    def __init__(
        self,
        *,
        n_particles: int = 64,
        hidden: int = 32,
        steps: int = 4000,
        lr_g: float = 0.02,
        batch_size: int = 64,
        n_modes: int = 8,
        radius: float = 2.0,
        mode_std: float = 0.05,
        gradient_penalty: float = 0.0,
        init_std: float = 0.1,
        n_records: int = 41,
        converge_tol: float = 0.15,
    ) -> None:
        self.n_particles = check_positive_int("n_particles", n_particles, 2)
        self.hidden = check_positive_int("hidden", hidden)
        self.steps = check_positive_int("steps", steps, 10)
        self.lr_g = check_number("lr_g", lr_g, low=0.0, low_open=True)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.n_modes = check_positive_int("n_modes", n_modes, 2)
        self.radius = check_number("radius", radius, low=0.0, low_open=True)
        self.mode_std = check_number("mode_std", mode_std, low=0.0)
        self.gradient_penalty = check_number("gradient_penalty", gradient_penalty, low=0.0)
        self.init_std = check_number("init_std", init_std, low=0.0)
        self.n_records = check_positive_int("n_records", n_records, 2)
        self.converge_tol = check_number("converge_tol", converge_tol, low=0.0, low_open=True)
        self.space = Space([Axis("kernel_ratio", 0.01, 1.0, scale="log"), Axis("lr_d", 1e-3, 1e-1, scale="log")])

    def default_labeler(self) -> Any:
        """Covered, collapsed or oscillating (:class:`~phasemapper.labelers.GANPhaseLabeler`)."""
        from ..labelers import GANPhaseLabeler

        return GANPhaseLabeler()

    def site_shape(self) -> tuple[int, ...]:
        return (self.n_particles, 2)

    def check_point(self, point: np.ndarray) -> None:
        super().check_point(point)
        if float(point[0]) > 1.0:
            raise ValueError(f"axis 'kernel_ratio': must be <= 1 (g2 <= g1), got {float(point[0]):g}")

    def modes(self) -> np.ndarray:
        """The target's mode centres, ``(n_modes, 2)``."""
        return ring_modes(self.n_modes, self.radius)

    def kernel(self, ratio: float) -> np.ndarray:
        """The particles' kernel ``K`` (``g1 = 1``, ``g2 = ratio``) over its largest eigenvalue."""
        N = self.n_particles
        K = (1.0 - ratio) * np.eye(N) + ratio * np.ones((N, N))
        return K / (1.0 + (N - 1) * ratio)

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        require("torch", by=type(self).__name__)
        ratio, lr_d = float(point[0]), float(point[1])
        draws = [self._draw_run(child) for child in ss.spawn(n_samples)]
        stacked = {key: np.stack([d[key] for d in draws]) for key in draws[0]}
        trained = _train(stacked, self, ratio, lr_d)
        metadata = {"steps": self.steps, "lr_g": self.lr_g, "gradient_penalty": self.gradient_penalty}
        return Samples(trained["snapshots"][:, -1].astype(np.float32), self._observables(trained), metadata)

    def _draw_run(self, seed: np.random.SeedSequence) -> dict[str, np.ndarray]:
        """One run's random draws from its own seed: start, discriminator and every real batch."""
        rng = np.random.default_rng(seed)
        H = self.hidden
        return {
            "x": self.init_std * rng.standard_normal((self.n_particles, 2)),
            "W1": rng.standard_normal((2, H)) * math.sqrt(2.0 / 2),  # He initialisation for ReLU layers
            "W2": rng.standard_normal((H, H)) * math.sqrt(2.0 / H),
            "W3": rng.standard_normal((H, 1)) * math.sqrt(1.0 / H),
            "real": self.modes()[rng.integers(0, self.n_modes, (self.steps, self.batch_size))]
            + self.mode_std * rng.standard_normal((self.steps, self.batch_size, 2)),
        }

    def _observables(self, trained: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each run's observables from its recorded particles (the last record is the end of training)."""
        snapshots = trained["snapshots"]  # (runs, records, particles, 2)
        distance = _mode_distances(snapshots, self.modes())
        shares = _mode_shares(distance.argmin(-1), self.n_modes)
        collapse = _collapse(shares)
        mode_distance = distance.min(-1).mean(-1)
        diverged = trained["diverged"]
        good = (diverged[:, None] == 0) & (mode_distance <= self.converge_tol) & (collapse <= math.log(2.0))
        stays = np.flip(np.logical_and.accumulate(np.flip(good, -1), -1), -1)  # good from each record on
        first = np.where(stays.any(-1), stays.argmax(-1), -1)
        spacing = 2.0 * self.radius * math.sin(math.pi / self.n_modes)
        moved = np.linalg.norm(snapshots[:, -1] - trained["start_last_tenth"], axis=-1)
        return {
            "collapse": collapse[:, -1],
            "modes_covered": (shares[:, -1] > 0).sum(-1).astype(float),
            "mode_distance": mode_distance[:, -1],
            "motion": moved.mean(-1) / spacing,
            "converged_step": np.where(first >= 0, trained["steps"][np.maximum(first, 0)], self.steps).astype(float),
            "converged": (first >= 0).astype(float),
            "diverged": diverged,
        }


def _train(draws: dict[str, np.ndarray], system: GANParticles, ratio: float, lr_d: float) -> dict[str, np.ndarray]:
    """Train the runs of ``draws`` together: the particles at ``n_records`` steps (the last at the end) as
    ``snapshots (runs, records, particles, 2)``, those ``steps``, the particles where the last tenth of training
    began (``start_last_tenth``) and ``diverged`` (0 or 1)."""
    import torch
    import torch.nn.functional as F

    t = {k: torch.from_numpy(v) for k, v in draws.items()}
    n = t["x"].shape[0]
    H = system.hidden
    params = [
        t["W1"].clone().requires_grad_(),
        torch.zeros(n, 1, H, dtype=torch.float64, requires_grad=True),
        t["W2"].clone().requires_grad_(),
        torch.zeros(n, 1, H, dtype=torch.float64, requires_grad=True),
        t["W3"].clone().requires_grad_(),
    ]

    def discriminator(x: Any) -> Any:
        W1, b1, W2, b2, W3 = params
        h = torch.relu(x @ W1 + b1)
        return (torch.relu(h @ W2 + b2) @ W3)[..., 0]

    K = torch.from_numpy(system.kernel(ratio))
    x = t["x"].clone()
    alive = torch.ones(n, dtype=torch.bool)  # a run whose step is not finite stops where it stood
    penalty = system.gradient_penalty
    steps = system.steps
    record_at = np.unique(np.linspace(0, steps, system.n_records).round().astype(int))
    last_tenth = steps - max(1, steps // 10)
    snapshots: list[np.ndarray] = []
    start_last_tenth = x.numpy().copy()
    for step in range(steps + 1):
        if step == last_tenth:
            start_last_tenth = x.numpy().copy()
        if step in record_at:
            snapshots.append(x.numpy().copy())
        if step == steps:
            break
        real = t["real"][:, step].clone().requires_grad_(penalty > 0)
        d_real = discriminator(real)
        loss = F.softplus(-d_real).mean(-1).sum() + F.softplus(discriminator(x)).mean(-1).sum()
        if penalty > 0:
            (grad_real,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
            loss = loss + 0.5 * penalty * (grad_real * grad_real).sum(-1).mean(-1).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            updated = [p - lr_d * g for p, g in zip(params, grads)]
            alive &= torch.stack([torch.isfinite(u).flatten(1).all(-1) for u in updated]).all(0)
            for p, u in zip(params, updated):
                p.copy_(torch.where(alive.view(-1, *[1] * (p.dim() - 1)), u, p))
        moving = x.clone().requires_grad_()
        (grad_x,) = torch.autograd.grad(F.softplus(-discriminator(moving)).sum(), moving)
        moved = x - system.lr_g * torch.einsum("ij,njd->nid", K, grad_x)
        alive &= (moved.abs() < 100.0 * system.radius).flatten(1).all(-1)  # false for nan and inf too
        x = torch.where(alive[:, None, None], moved, x)
    return {
        "snapshots": np.stack(snapshots, axis=1),
        "steps": record_at.astype(float),
        "start_last_tenth": start_last_tenth,
        "diverged": (~alive).double().numpy(),
    }


register_system("gan_particles", GANParticles)
