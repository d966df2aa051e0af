"""A small convolutional classifier of configurations (PyTorch through skorch), shared by the learned detectors.

The network sees a configuration as channels on a lattice: a circular 2x2
convolution (nearest-neighbour products are what the energy is made of), ReLU,
average pooling over the lattice (over a few segments for open 1-D systems,
whose profiles matter), and a small dense head. Pooling makes it translation
invariant and lets one network serve every lattice size. Training is
skorch's ``fit`` (Adam, cross-entropy): no hand-written loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ConfigurationClassifier", "held_out_split"]


def _module(n_channels: int, lattice_ndim: int, n_classes: int, width: int, hidden: int, segments: int) -> Any:
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
        nn.Linear(hidden, n_classes),
    )


def held_out_split(n_points: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-point train / test sample indices (half each, a seeded permutation per point)."""
    if n_samples < 4:
        raise ValueError(f"learned detectors need at least 4 samples per point, got {n_samples}")
    rng = np.random.default_rng(seed)
    perm = np.array([rng.permutation(n_samples) for _ in range(n_points)])
    half = n_samples // 2
    return perm[:, :half], perm[:, half:]


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
    """

    def __init__(
        self, n_classes: int, max_epochs: int = 12, width: int = 12, hidden: int = 64, lr: float = 3e-3,
        batch_size: int = 128, seed: int = 0,
    ) -> None:
        self.n_classes, self.max_epochs, self.width, self.hidden = n_classes, max_epochs, width, hidden
        self.lr, self.batch_size, self.seed = lr, batch_size, seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> ConfigurationClassifier:
        import torch
        from skorch import NeuralNetClassifier

        torch.manual_seed(self.seed)
        module = _module(x.shape[1], x.ndim - 2, self.n_classes, self.width, self.hidden, segments=8)
        self.net_ = NeuralNetClassifier(
            module, criterion=torch.nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=self.lr,
            max_epochs=self.max_epochs, batch_size=self.batch_size, train_split=None,
            iterator_train__shuffle=True, verbose=0, device="cpu", classes=np.arange(self.n_classes),
        )
        self.net_.fit(x.astype(np.float32), y.astype(np.int64))
        return self

    def predict_log_proba(self, x: np.ndarray) -> np.ndarray:
        """``log p(class | x)`` from the network's logits (numerically stable, unlike ``log(predict_proba)``)."""
        import torch

        logits = np.concatenate([chunk.numpy() for chunk in self.net_.forward_iter(x.astype(np.float32))])
        return torch.log_softmax(torch.from_numpy(logits).double(), dim=1).numpy()
