"""A small convolutional classifier of configurations (PyTorch through skorch), shared by the learned detectors.

The network sees a configuration as channels on a lattice: a circular 2x2
convolution (nearest-neighbour products are what the energy is made of), ReLU,
average pooling over the lattice (over a few segments for open 1-D systems,
whose profiles matter), and a small dense head. Pooling makes it translation
invariant and lets one network serve every lattice size. Training is
skorch's ``fit`` (Adam, cross-entropy): no hand-written loop.

With ``class_basis`` the head is an exponential family in the point's
coordinates: for samples drawn from ``p(x | theta) ~ h(x) exp(eta(theta) . t(x))``
the posterior over grid points is ``log p(j | x) = eta(theta_j) . t(x) - A_j``, and
the natural parameters ``eta`` are smooth in ``theta`` even at a phase
transition (for a Gibbs family in ``T`` they are ``-1/T`` times the couplings).
The network learns the statistics ``t(x)``; the class weights are a fixed smooth
basis of the coordinates (:func:`smooth_class_basis`) times learned
coefficients, and ``A_j`` is a free bias. Neighbouring points then share their
weights instead of being told apart by noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..progress import ProgressBar, step

__all__ = ["ConfigurationClassifier", "held_out_split", "sample_folds", "smooth_class_basis"]


def smooth_class_basis(theta: np.ndarray, degree: int) -> np.ndarray:
    """Legendre polynomials of total degree ``1..degree`` in the points' coordinates, ``(n_points, n_terms)``.

    Each axis is mapped onto [-1, 1] over the points' range; products across axes
    make the 2-D terms. The constant is left out (the head has a bias per point).

    Examples
    --------
    >>> smooth_class_basis(np.array([[1.0], [2.0], [3.0]]), 2).round(2).tolist()
    [[-1.0, 1.0], [0.0, -0.5], [1.0, 1.0]]
    """
    from itertools import product

    from numpy.polynomial import legendre

    theta = np.asarray(theta, dtype=float)
    lo, hi = theta.min(axis=0), theta.max(axis=0)
    u = (theta - (lo + hi) / 2) / np.where(hi > lo, (hi - lo) / 2, 1.0)
    ndim = theta.shape[1]
    columns = []
    for powers in product(range(degree + 1), repeat=ndim):
        if 0 < sum(powers) <= degree and all(p == 0 or hi[a] > lo[a] for a, p in enumerate(powers)):
            columns.append(np.prod([legendre.legval(u[:, a], np.eye(p + 1)[p]) for a, p in enumerate(powers)], axis=0))
    if not columns:
        raise ValueError("smooth_class_basis: the points' coordinates do not vary")
    return np.column_stack(columns)


def _smooth_head(hidden: int, basis: np.ndarray) -> Any:
    """``logits_j = (V z) . basis_j + b_j``: class weights restricted to the span of a smooth basis."""
    import torch
    import torch.nn as nn

    class SmoothHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("basis", torch.tensor(basis, dtype=torch.float32))
            self.coefficients = nn.Linear(hidden, basis.shape[1], bias=False)
            self.bias = nn.Parameter(torch.zeros(basis.shape[0]))

        def forward(self, z: Any) -> Any:
            return self.coefficients(z) @ self.basis.T + self.bias

    return SmoothHead()


def _module(
    n_channels: int,
    lattice_ndim: int,
    n_classes: int,
    width: int,
    hidden: int,
    segments: int,
    class_basis: np.ndarray | None = None,
) -> Any:
    import torch.nn as nn

    conv = nn.Conv2d if lattice_ndim == 2 else nn.Conv1d
    pool = nn.AdaptiveAvgPool2d(1) if lattice_ndim == 2 else nn.AdaptiveAvgPool1d(segments)
    features = width * (1 if lattice_ndim == 2 else segments)
    return nn.Sequential(
        conv(n_channels, width, kernel_size=2, padding=1, padding_mode="circular"),
        nn.ReLU(),
        pool,
        nn.Flatten(),
        nn.Linear(features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_classes) if class_basis is None else _smooth_head(hidden, class_basis),
    )


def held_out_split(n_points: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-point train / test sample indices (half each, a seeded permutation per point)."""
    if n_samples < 4:
        raise ValueError(f"learned detectors need at least 4 samples per point, got {n_samples}")
    rng = np.random.default_rng(seed)
    perm = np.array([rng.permutation(n_samples) for _ in range(n_points)])
    half = n_samples // 2
    return perm[:, :half], perm[:, half:]


def sample_folds(n_points: int, n_samples: int, seed: int, cross_fit: bool) -> tuple[list, np.ndarray]:
    """The (train, test) halves of every point's samples per fold, and which samples the folds judge.

    With ``cross_fit`` two folds, each half training once and being judged once, so every sample
    is judged by a model that did not see it; without, one fold that judges only its test half.
    Returns ``folds`` (a list of ``(train, test)`` index arrays of shape ``(n_points, half)``) and
    ``judged`` (``(n_points, n_judged)``): index a ``(point, sample, ...)`` array filled fold by
    fold with ``[np.arange(n_points)[:, None], judged]``.
    """
    if not isinstance(cross_fit, (bool, np.bool_)):
        raise ValueError(f"cross_fit must be True or False, got {cross_fit!r}")
    train, test = held_out_split(n_points, n_samples, seed)
    if cross_fit:
        return [(train, test), (test, train)], np.broadcast_to(np.arange(n_samples), (n_points, n_samples))
    return [(train, test)], test


class ConfigurationClassifier:
    """Classify configurations ``(n, channel, *lattice)`` into ``n_classes``; a thin skorch wrapper.

    Parameters
    ----------
    n_classes : int
    max_epochs : int
        Passes over the training set.
    width, hidden : int
        Convolution channels and dense units.
    lr : float
        Adam learning rate.
    batch_size : int
    seed : int
        Seeds PyTorch's generator for the initial weights and the shuffling.
    class_basis : ndarray of shape (n_classes, n_terms), optional
        Restrict the class weights to this smooth basis of the classes' coordinates
        (:func:`smooth_class_basis`); ``None``: a free dense layer.
    """

    def __init__(
        self,
        n_classes: int,
        max_epochs: int = 12,
        width: int = 12,
        hidden: int = 64,
        lr: float = 3e-3,
        batch_size: int = 128,
        seed: int = 0,
        class_basis: np.ndarray | None = None,
    ) -> None:
        self.n_classes, self.max_epochs, self.width, self.hidden = n_classes, max_epochs, width, hidden
        self.lr, self.batch_size, self.seed = lr, batch_size, seed
        if class_basis is not None and np.shape(class_basis)[0] != n_classes:
            raise ValueError(
                f"class_basis must have one row per class ({n_classes}), got shape {np.shape(class_basis)}"
            )
        self.class_basis = class_basis

    def fit(self, x: np.ndarray, y: np.ndarray) -> ConfigurationClassifier:
        import torch
        from skorch import NeuralNetClassifier
        from skorch.callbacks import Callback

        class EpochProgress(Callback):
            def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
                step()

        torch.manual_seed(self.seed)
        module = _module(
            x.shape[1], x.ndim - 2, self.n_classes, self.width, self.hidden, segments=8, class_basis=self.class_basis
        )
        self.net_ = NeuralNetClassifier(
            module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
            device="cpu",
            classes=np.arange(self.n_classes),
            callbacks=[EpochProgress()],
        )
        with ProgressBar(f"network ({len(x)} samples, {self.n_classes} classes): epochs", self.max_epochs):
            self.net_.fit(x.astype(np.float32), y.astype(np.int64))
        return self

    def predict_log_proba(self, x: np.ndarray) -> np.ndarray:
        """``log p(class | x)`` from the network's logits (numerically stable, unlike ``log(predict_proba)``)."""
        import torch

        logits = np.concatenate([chunk.numpy() for chunk in self.net_.forward_iter(x.astype(np.float32))])
        return torch.log_softmax(torch.from_numpy(logits).double(), dim=1).numpy()
