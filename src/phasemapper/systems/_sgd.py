"""Phases of SGD training: a teacher-student network whose middle weight matrix is learnt by plain SGD.

After C. Park, B. Lucini and G. Aarts, "Phase diagram and eigenvalue dynamics of stochastic gradient descent in
multilayer neural networks", arXiv:2509.01349 (2025), and their code (github.com/chanjure/phase_ml,
``src/bin/generate.py`` and ``src/notebooks/empirical_phase.ipynb``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .._checks import check_number, check_positive_int
from .._extras import require
from .._space import Axis, Space
from .._types import CriticalPoint, Samples
from ._base import System, register_system

__all__ = ["SGDTeacherStudent"]

#: the network 3 -> 32 -> 16 -> 1 of the paper: input, first hidden (L), second hidden (K), output
N_IN, L_HIDDEN, K_HIDDEN = 3, 32, 16


class SGDTeacherStudent(System):
    """Train the 16 x 32 middle matrix ``W`` of a tanh network by SGD to imitate a teacher of the same shape.

    The network is ``y = Z tanh(W tanh(M x))`` with ``x`` in R^3. A teacher (``M``, ``W_t``, ``Z``, each
    Gaussian with variance 1 / fan-in) labels ``n_train`` inputs ``x ~ N(0, 1)``; the student shares the
    teacher's ``M`` and ``Z`` (frozen) and learns ``W`` from ``W ~ N(0, sigma_w^2 / 32)`` by plain SGD on
    the mean squared error ``0.5 (y - y_t)^2``, batches of ``batch_size`` taken in order, learning rate
    ``T * batch_size``. A run diverges when a batch loss exceeds ``divergence_loss`` or ``W`` stops being
    finite; it is then frozen where it stood.

    Axes ``T`` (learning rate / batch size) and ``sigma_w`` (initial scale of ``W``), both logarithmic over
    the paper's ranges. Each of the ``n_samples`` of :meth:`sample` is one run with its own teacher, data and
    initialisation; all runs of a call train together in one float64 tensor program (PyTorch, the ``deep``
    extra), and each run equals the same run trained alone.

    Configurations are the singular values of ``W`` (descending) at ``n_checkpoints`` evenly spaced steps,
    the paper's central object. Observables per run, on ``n_test`` fresh inputs unless said:

    - ``test_mse``: ``0.5 (y - y_t)^2``;
    - ``q``: overlap of the initial and final second-layer features, ``<s_0 . s> / (n_test K)``;
    - ``alignment``: cosine between the final features and the teacher's field ``y_t Z``;
    - ``gap_growth``: growth rate per step of the mean eigenvalue spacing of ``W W^T``,
      ``(ln g_end - ln g_start) / steps``;
    - ``grad_norm``: Frobenius norm of the full-batch gradient at the end (training set);
    - ``drift``, ``noise``: the Langevin (Dyson Brownian motion) terms of the paper's criterion, from the
      per-sample updates of ``X = W W^T`` in its eigenbasis: the drift of the largest minus that of the
      smallest eigenvalue, and the noise that repels the extreme eigenvalues from the others;
    - ``diverged`` (0 or 1) and ``steps_run``.

    The paper trains 10^5 epochs of 1000 steps per run; the default here is ``steps=20_000`` (20 epochs),
    what two CPU cores afford per point.

    The reference is the paper's low-temperature statement: the features turn spin-glass-like where the
    second layer's Gaussian field ``h = W tanh(M x)`` makes ``tanh(h)`` bimodal, i.e. ``Var h > 1/2``. The
    paper writes this as ``sigma_w^2 = 1/2``, which takes the first layer's features at ``+-1``; here their
    mean square ``E[tanh^2(M x)]`` (:func:`first_layer_feature_variance`, 0.344) puts the line at
    ``sigma_w = 1.206``. :meth:`reference_phase` is ferro below that line and spin glass above it at every
    ``T``: the paper gives no closed form for the para and divergent regions.
    Its default labeler is :class:`~phasemapper.labelers.SGDPhaseLabeler`.

    Parameters
    ----------
    n_train : int
        Training inputs (the paper: 4000).
    batch_size : int
        Inputs per SGD step (the paper: 4).
    steps : int
        SGD steps per run.
    n_checkpoints : int
        Steps at which the singular values are recorded (the first and the last included).
    n_test : int
        Fresh inputs for the observables (the paper's notebook: 128).
    divergence_loss : float
        A batch loss above this ends a run as diverged (the paper: 100).

    Examples
    --------
    >>> from phasemapper.systems import SGDTeacherStudent
    >>> system = SGDTeacherStudent(steps=200, n_train=400)
    >>> s = system.sample([0.1, 1.0], n_samples=3, seed=0)  # T, sigma_w
    >>> s.configurations.shape, sorted(s.observables)[:3]
    ((3, 11, 16), ['alignment', 'diverged', 'drift'])
    """

    name = "sgd_teacher_student"
    reference = "Park, Lucini & Aarts 2025"
    phases = ("ferro", "para", "spin_glass", "divergent")
    site_dims = ("checkpoint", "mode")
    config_dtype = np.float32

    def __init__(
        self,
        *,
        n_train: int = 4000,
        batch_size: int = 4,
        steps: int = 20_000,
        n_checkpoints: int = 11,
        n_test: int = 128,
        divergence_loss: float = 100.0,
    ) -> None:
        self.n_train = check_positive_int("n_train", n_train)
        self.batch_size = check_positive_int("batch_size", batch_size, maximum=self.n_train)
        self.steps = check_positive_int("steps", steps)
        self.n_checkpoints = check_positive_int("n_checkpoints", n_checkpoints, 2)
        self.n_test = check_positive_int("n_test", n_test, 2)
        self.divergence_loss = check_number("divergence_loss", divergence_loss, low=0.0, low_open=True)
        self.space = Space([Axis("T", 2.0**-5, 2.0**4, scale="log"), Axis("sigma_w", 2.0**-3, 2.0**8, scale="log")])

    def default_labeler(self) -> Any:
        """Each run's phase from the Dyson criterion and its features (:class:`~phasemapper.labelers.SGDPhaseLabeler`)."""
        from ..labelers import SGDPhaseLabeler

        return SGDPhaseLabeler()

    def site_shape(self) -> tuple[int, ...]:
        return (self.n_checkpoints, K_HIDDEN)

    @staticmethod
    def bimodal_sigma_w() -> float:
        """The ``sigma_w`` above which the second layer's features ``tanh(h)`` are bimodal (``Var h = 1/2``)."""
        return math.sqrt(0.5 / first_layer_feature_variance())

    def reference_phase(self, points: Any) -> np.ndarray:
        """Ferro below :meth:`bimodal_sigma_w`, spin glass above (the paper's low-temperature statement)."""
        arr = self.points(points)
        return np.where(arr[:, 1] < self.bimodal_sigma_w(), "ferro", "spin_glass")

    def reference_critical_points(self) -> list[CriticalPoint]:
        """The ferro / spin-glass line at the lowest ``T`` of the space, where the paper states it."""
        method = "closed form: tanh of a Gaussian field turns bimodal (Park, Lucini & Aarts 2025)"
        return [CriticalPoint("sigma_w", self.bimodal_sigma_w(), 0.0, method, at={"T": float(self.space["T"].low)})]

    def sample(self, point: Any, n_samples: int, seed: int | np.random.SeedSequence | None) -> Samples:
        point, n_samples, ss = self._sample_args(point, n_samples, seed)
        require("torch", by=type(self).__name__)
        T, sigma_w = float(point[0]), float(point[1])
        runs = [_draw_run(child, self.n_train, self.n_test, sigma_w) for child in ss.spawn(n_samples)]
        stacked = {key: np.stack([r[key] for r in runs]) for key in runs[0]}
        singular, observables = _train(stacked, T, self)
        metadata = {"steps": self.steps, "batch_size": self.batch_size, "learning_rate": T * self.batch_size}
        return Samples(np.ascontiguousarray(singular, dtype=np.float32), observables, metadata)


@functools.cache
def first_layer_feature_variance() -> float:
    """``E[tanh^2(m . x)]`` for ``m ~ N(0, I/3)`` and ``x ~ N(0, I)`` in R^3: the mean square of a first-layer feature.

    Given ``m``, ``m . x ~ N(0, |m|^2)`` with ``3 |m|^2 ~ chi^2_3``; the inner mean is Gauss-Hermite quadrature,
    the outer one adaptive quadrature over the chi-square density.

    Examples
    --------
    >>> from phasemapper.systems._sgd import first_layer_feature_variance
    >>> round(first_layer_feature_variance(), 4)
    0.3437
    """
    from scipy import integrate, stats

    z, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    inner = lambda c: stats.chi2.pdf(c, N_IN) * float(np.sum(w * np.tanh(math.sqrt(c / N_IN) * z) ** 2))  # noqa: E731
    value, _ = integrate.quad(inner, 0.0, np.inf)
    return float(value)


def _draw_run(seed: np.random.SeedSequence, n_train: int, n_test: int, sigma_w: float) -> dict[str, np.ndarray]:
    """One run's random draws, from its own seed (so a run does not depend on the others of its batch)."""
    rng = np.random.default_rng(seed)
    return {
        "M": rng.standard_normal((L_HIDDEN, N_IN)) / math.sqrt(N_IN),
        "W_teacher": rng.standard_normal((K_HIDDEN, L_HIDDEN)) / math.sqrt(L_HIDDEN),
        "Z": rng.standard_normal((1, K_HIDDEN)) / math.sqrt(K_HIDDEN),
        "x": rng.standard_normal((n_train, N_IN)),
        "x_test": rng.standard_normal((n_test, N_IN)),
        "W0": rng.standard_normal((K_HIDDEN, L_HIDDEN)) * sigma_w / math.sqrt(L_HIDDEN),
    }


def layer_gradient(W: Any, s0: Any, y: Any, Z: Any, per_sample: bool = False) -> tuple[Any, Any]:
    """The gradient of the mean of ``0.5 (Z tanh(W s0) - y)^2`` over the inputs with respect to ``W`` (with
    ``per_sample``, each input's gradient instead), and the losses.

    Shapes (torch tensors): ``W (n, K, L)``, ``s0 (n, b, L)``, ``y (n, b, 1)``, ``Z (n, 1, K)``; returns
    ``(n, K, L)`` (``(n, b, K, L)`` per sample) and ``(n, b)``.
    """
    import torch

    h = torch.tanh(torch.einsum("nkl,nbl->nbk", W, s0))
    err = torch.einsum("nok,nbk->nbo", Z, h) - y
    delta = torch.einsum("nbo,nok->nbk", err, Z) * (1.0 - h * h)
    loss = 0.5 * (err * err).sum(-1)
    if per_sample:
        return torch.einsum("nbk,nbl->nbkl", delta, s0), loss
    return torch.einsum("nbk,nbl->nkl", delta, s0) / s0.shape[1], loss


def _train(
    draws: dict[str, np.ndarray], T: float, system: SGDTeacherStudent
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    import torch

    t = {k: torch.from_numpy(v) for k, v in draws.items()}
    M, Z, W = t["M"], t["Z"], t["W0"].clone()
    features = lambda x: torch.tanh(torch.einsum("nli,nbi->nbl", M, x))  # noqa: E731 - first layer, frozen
    s0 = features(t["x"])
    y = torch.einsum("nok,nbk->nbo", Z, torch.tanh(torch.einsum("nkl,nbl->nbk", t["W_teacher"], s0)))
    n, bs, steps = W.shape[0], system.batch_size, system.steps
    lr = T * bs
    n_batches = system.n_train // bs
    marks = np.unique(np.linspace(0, steps, system.n_checkpoints).round().astype(int))
    singular = np.empty((n, system.n_checkpoints, K_HIDDEN))
    alive = torch.ones(n, dtype=torch.bool)
    steps_run = torch.zeros(n, dtype=torch.int64)
    k = 0
    for step in range(steps + 1):
        if k < len(marks) and step == marks[k]:
            singular[:, k] = torch.linalg.svdvals(torch.nan_to_num(W, posinf=0.0, neginf=0.0)).numpy()
            k += 1
        if step == steps or not bool(alive.any()):
            continue
        b = step % n_batches
        grad, loss = layer_gradient(W, s0[:, b * bs : (b + 1) * bs], y[:, b * bs : (b + 1) * bs], Z)
        step_ok = (loss.mean(-1) <= system.divergence_loss) & torch.isfinite(loss.mean(-1))
        alive &= step_ok
        update = W - lr * grad
        alive &= torch.isfinite(update).all(dim=(-1, -2))
        W = torch.where(alive[:, None, None], update, W)
        steps_run += alive.to(torch.int64)
    observables = _observables(t, W, Z, features, s0, y, singular, steps)
    observables["diverged"] = (~alive).double().numpy()
    observables["steps_run"] = steps_run.double().numpy()
    return singular, observables


def _observables(
    t: dict[str, Any], W: Any, Z: Any, features: Any, s0: Any, y: Any, singular: np.ndarray, steps: int
) -> dict[str, np.ndarray]:
    import torch

    W = torch.nan_to_num(W, posinf=0.0, neginf=0.0)
    st0 = features(t["x_test"])
    field = lambda V: torch.tanh(torch.einsum("nkl,nbl->nbk", V, st0))  # noqa: E731 - second-layer features
    s_init, s, s_teacher = field(t["W0"]), field(W), field(t["W_teacher"])
    y_teacher = torch.einsum("nok,nbk->nbo", Z, s_teacher)
    err = torch.einsum("nok,nbk->nbo", Z, s) - y_teacher
    n_test = st0.shape[1]
    teacher_field = y_teacher * Z  # (n, b, K): the field the teacher's output exerts on each feature

    def cosine(a: Any, b: Any) -> Any:
        return (a * b).sum((-1, -2)) / (a.norm(dim=(-1, -2)) * b.norm(dim=(-1, -2))).clamp_min(1e-300)

    train_grad, _ = layer_gradient(W, s0, y, Z)
    eigen = singular**2  # eigenvalues of W W^T at each checkpoint, descending
    spacing = np.maximum((eigen[..., 0] - eigen[..., -1]) / (K_HIDDEN - 1), 1e-300)  # their mean spacing
    growth = (np.log(spacing[:, -1]) - np.log(spacing[:, 0])) / steps
    drift, noise = _dyson_terms(W, st0, y_teacher, Z)
    return {
        "test_mse": (0.5 * (err * err).sum(-1).mean(-1)).numpy(),
        "q": ((s_init * s).sum((-1, -2)) / (n_test * K_HIDDEN)).numpy(),
        "alignment": cosine(teacher_field, s).numpy(),
        "gap_growth": growth,
        "grad_norm": train_grad.norm(dim=(-1, -2)).numpy(),
        "drift": drift,
        "noise": noise,
    }


def _dyson_terms(W: Any, st0: Any, y_teacher: Any, Z: Any) -> tuple[np.ndarray, np.ndarray]:
    """The drift of the eigenvalue gap of ``X = W W^T`` and the noise that drives it, as in the paper's notebook.

    Each test input's gradient ``G`` changes ``X`` by ``dX = W G^T + G W^T`` (up to the learning rate). In the
    eigenbasis ``U`` of ``X`` (eigenvalues descending), the mean over inputs ``K~ = <U^T dX U>`` and the variance
    ``V~ = Var(U^T dX U)`` give the drift of the gap, ``|K~_11| - |K~_KK|``, and the noise
    ``2 V~_1K / (K - 1) + sum_{k=1}^{K-2} (V~_{1,k+1} + V~_{K,K-k+1}) / k``. The notebook projects the
    elementwise variance, ``U^T Var(dX) U``, whose off-diagonal elements change sign with the eigenvectors';
    the variance of the projected update is the Dyson Brownian motion's noise and does not.
    """
    import torch

    grad, _ = layer_gradient(W, st0, y_teacher, Z, per_sample=True)  # (n, b, K, L)
    dX = torch.einsum("nal,nbcl->nbac", W, grad)
    dX = dX + dX.transpose(-1, -2)
    _, U = torch.linalg.eigh(W @ W.transpose(-1, -2))
    U = U.flip(-1)  # eigenvalues descending, as the singular values
    projected = U.transpose(-1, -2)[:, None] @ dX @ U[:, None]  # (n, b, K, K)
    mean_t, var_t = projected.mean(1), projected.var(1, unbiased=False)
    K = W.shape[1]
    drift = mean_t[:, 0, 0].abs() - mean_t[:, -1, -1].abs()
    noise = 2.0 * var_t[:, 0, -1] / (K - 1)
    for k in range(1, K - 1):
        noise = noise + (var_t[:, 0, k] + var_t[:, -1, K - k]) / k
    return drift.numpy(), noise.numpy()


register_system("sgd_teacher_student", SGDTeacherStudent)
