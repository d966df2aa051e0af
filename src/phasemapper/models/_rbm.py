"""A restricted Boltzmann machine on binary configurations (PyTorch, CPU), with exact and AIS partition functions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .._checks import check_bool, check_number, check_positive_int, check_seed
from .._extras import require

__all__ = ["RBM", "MAX_EXACT_VISIBLE"]

#: the most visible units whose 2^n states are enumerated for exact probabilities and partition functions
MAX_EXACT_VISIBLE = 24


class RBM(BaseEstimator):
    """A binary restricted Boltzmann machine: ``p(v) = exp(-F(v)) / Z`` with the free energy
    ``F(v) = -b.v - sum_j log(1 + exp(c_j + v.W_j))``.

    Trained by persistent (or plain) contrastive divergence with ``cd_steps`` Gibbs steps, in
    float64 PyTorch on the CPU. Configurations of spins +-1 are read as bits (``(s + 1) / 2``).
    The partition function is exact by enumerating the ``2^n_visible`` visible states
    (:meth:`log_partition_exact`, up to :data:`MAX_EXACT_VISIBLE` units) or estimated by annealed
    importance sampling (Salakhutdinov & Murray, ICML 2008; :meth:`log_partition_ais`) with a
    standard error.

    Parameters
    ----------
    n_hidden : int
    learning_rate : float
    n_epochs, batch_size, cd_steps : int
    persistent : bool
        Persistent chains (PCD, Tieleman 2008) instead of chains restarted at the data (CD).
    weight_decay : float
        L2 penalty on the weights.
    seed : int

    Attributes
    ----------
    weights_ : ndarray (n_visible, n_hidden)
    visible_bias_, hidden_bias_ : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from phasemapper.models import RBM
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((500, 8)) < [0.9, 0.9, 0.1, 0.1, 0.5, 0.5, 0.8, 0.2]).astype(float)
    >>> rbm = RBM(n_hidden=4, n_epochs=30, seed=0).fit(x)
    >>> bool(abs(rbm.log_likelihood(x) - rbm.log_likelihood(x, log_z=rbm.log_partition_ais(seed=1)[0])) < 0.05)
    True
    """

    def __init__(
        self,
        *,
        n_hidden: int = 16,
        learning_rate: float = 0.05,
        n_epochs: int = 50,
        batch_size: int = 64,
        cd_steps: int = 1,
        persistent: bool = True,
        weight_decay: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.n_hidden = n_hidden
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.cd_steps = cd_steps
        self.persistent = persistent
        self.weight_decay = weight_decay
        self.seed = seed

    def _check_params(self) -> None:
        check_positive_int("n_hidden", self.n_hidden)
        check_number("learning_rate", self.learning_rate, low=0, low_open=True)
        check_positive_int("n_epochs", self.n_epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("cd_steps", self.cd_steps)
        check_bool("persistent", self.persistent)
        check_number("weight_decay", self.weight_decay, low=0)
        check_seed("seed", self.seed)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on ``X`` ``(n_samples, n_visible)``: bits 0/1, or spins -1/+1 (any trailing shape is flattened)."""
        require("torch", by="RBM")
        import torch

        self._check_params()
        v = _as_bits(X)
        n, n_visible = v.shape
        gen = torch.Generator().manual_seed(self.seed)
        data = torch.as_tensor(v, dtype=torch.float64)
        mean = data.mean(0).clamp(1e-3, 1 - 1e-3)
        W = 0.01 * torch.randn(n_visible, self.n_hidden, generator=gen, dtype=torch.float64)
        b = torch.log(mean / (1 - mean))  # visible biases at the data's log-odds
        c = torch.zeros(self.n_hidden, dtype=torch.float64)
        size = min(self.batch_size, n)
        chains = data[torch.randint(0, n, (size,), generator=gen)].clone()
        for _ in range(self.n_epochs):
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, size):
                batch = data[order[start : start + size]]
                ph_data = torch.sigmoid(c + batch @ W)
                negative = chains[: len(batch)] if self.persistent else batch
                for _ in range(self.cd_steps):
                    h = torch.bernoulli(torch.sigmoid(c + negative @ W), generator=gen)
                    negative = torch.bernoulli(torch.sigmoid(b + h @ W.T), generator=gen)
                if self.persistent:
                    chains[: len(batch)] = negative
                ph_model = torch.sigmoid(c + negative @ W)
                m = len(batch)
                W += self.learning_rate * ((batch.T @ ph_data - negative.T @ ph_model) / m - self.weight_decay * W)
                b += self.learning_rate * (batch - negative).mean(0)
                c += self.learning_rate * (ph_data - ph_model).mean(0)
        self.weights_ = W.numpy().copy()
        self.visible_bias_ = b.numpy().copy()
        self.hidden_bias_ = c.numpy().copy()
        return self

    def fit_distribution(
        self, probabilities: Any, *, n_samples: int | None = None, prior_precision: float = 1.0, max_iter: int = 300
    ) -> RBM:
        """Maximum likelihood on a distribution over every visible state, by exact gradients.

        ``probabilities`` are over :func:`all_states` (``2^n_visible`` of them; an empirical distribution
        is a normalised histogram of state indices, :func:`~phasemapper.models.state_index`). The
        cross-entropy ``sum_v q(v) F(v) + log Z``, whose excess over the entropy of ``q`` is
        ``KL(q || p)``, is minimised by L-BFGS (strong Wolfe line search, at most ``max_iter``
        iterations) with ``log Z`` enumerated exactly over the smaller layer, from the initial weights of
        :meth:`fit`. With ``n_samples`` (the size of the sample ``q`` is the histogram of) a Gaussian
        prior of precision ``prior_precision`` on every parameter is added: maximum a posteriori. Of the
        constructor's options only ``n_hidden`` and ``seed`` apply.

        Examples
        --------
        >>> from phasemapper.models import RBM
        >>> q = np.full(8, 0.02); q[[0, 7]] = 0.44            # two states, mostly: one hidden unit suffices
        >>> p = RBM(n_hidden=1, seed=0).fit_distribution(q).probabilities_exact()
        >>> bool(np.sum(q * np.log(q / p)) < 0.01)
        True
        """
        q = np.asarray(probabilities, dtype=float)
        n_visible = int(round(math.log2(q.size))) if q.ndim == 1 and q.size >= 2 else -1
        if n_visible < 1 or 2**n_visible != q.size or np.any(q < 0) or not np.isclose(q.sum(), 1.0):
            raise ValueError(
                f"probabilities: need a distribution over 2^n states, got shape {q.shape}, sum {q.sum():.4g}"
            )
        support = np.flatnonzero(q > 0)
        return self._fit_exact(all_states(n_visible)[support], q[support], n_samples, prior_precision, max_iter)

    def fit_samples(self, X: Any, *, prior_precision: float = 1.0, max_iter: int = 300) -> RBM:
        """Maximum a posteriori on configurations ``X`` by exact gradients, for any number of visible units.

        As :meth:`fit_distribution` on the sample's histogram, with ``log Z`` enumerated over the hidden
        states (``n_hidden <= MAX_EXACT_VISIBLE``) when there are fewer hidden than visible units, so
        lattices too large to enumerate are fitted exactly too.

        Examples
        --------
        >>> from phasemapper.models import RBM
        >>> rng = np.random.default_rng(0)
        >>> x = np.where(rng.random((200, 40)) < 0.5, 1, -1) * np.where(rng.random((200, 1)) < 0.5, 1, -1)
        >>> rbm = RBM(n_hidden=2, seed=0).fit_samples(x)
        >>> bool(np.isfinite(rbm.log_likelihood(x)))
        True
        """
        v = _as_bits(X)
        unique, counts = np.unique(v, axis=0, return_counts=True)
        return self._fit_exact(unique, counts / len(v), len(v), prior_precision, max_iter)

    def _fit_exact(
        self, seen_np: np.ndarray, weights_np: np.ndarray, n_samples: int | None, prior_precision: float, max_iter: int
    ) -> RBM:
        """Minimise ``sum_k w_k F(v_k) + log Z`` (+ the prior) over the parameters by L-BFGS, ``log Z`` exact."""
        require("torch", by="RBM")
        import torch

        check_positive_int("n_hidden", self.n_hidden)
        check_seed("seed", self.seed)
        check_positive_int("max_iter", max_iter)
        check_number("prior_precision", prior_precision, low=0)
        penalty = 0.0 if n_samples is None else prior_precision / (2.0 * check_positive_int("n_samples", n_samples))
        n_visible = seen_np.shape[1]
        if min(n_visible, self.n_hidden) > MAX_EXACT_VISIBLE:
            raise ValueError(
                f"n_hidden: exact training enumerates the smaller layer, at most {MAX_EXACT_VISIBLE} units"
            )
        seen = torch.as_tensor(seen_np, dtype=torch.float64)
        weights = torch.as_tensor(weights_np, dtype=torch.float64)
        gen = torch.Generator().manual_seed(self.seed)
        marginals = (weights @ seen).clamp(1e-3, 1 - 1e-3)
        W = (0.01 * torch.randn(n_visible, self.n_hidden, generator=gen, dtype=torch.float64)).requires_grad_()
        b = torch.log(marginals / (1 - marginals)).requires_grad_()
        c = torch.zeros(self.n_hidden, dtype=torch.float64, requires_grad=True)
        optimiser = torch.optim.LBFGS(
            [W, b, c], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_change=1e-12
        )

        def free_energy(v: Any) -> Any:
            return -(v @ b) - torch.nn.functional.softplus(v @ W + c).sum(dim=1)

        by_hidden = self.n_hidden < n_visible
        layer = torch.as_tensor(all_states(self.n_hidden if by_hidden else n_visible), dtype=torch.float64)

        def log_partition() -> Any:
            if by_hidden:  # sum over the hidden states: log sum_h exp(c.h) prod_i (1 + exp(b_i + W_i.h))
                return torch.logsumexp(layer @ c + torch.nn.functional.softplus(b + layer @ W.T).sum(dim=1), dim=0)
            return torch.logsumexp(-free_energy(layer), dim=0)

        def closure() -> Any:
            optimiser.zero_grad()
            loss = weights @ free_energy(seen) + log_partition()
            if penalty:
                loss = loss + penalty * sum((p**2).sum() for p in (W, b, c))
            loss.backward()
            return loss

        optimiser.step(closure)
        self.weights_ = W.detach().numpy().copy()
        self.visible_bias_ = b.detach().numpy().copy()
        self.hidden_bias_ = c.detach().numpy().copy()
        return self

    # -------------------------------------------------------------- queries
    @property
    def n_visible_(self) -> int:
        return int(self.weights_.shape[0])

    def free_energy(self, X: Any) -> np.ndarray:
        """``F(v)`` of each row (bits or spins)."""
        v = _as_bits(X)
        return -(v @ self.visible_bias_) - np.logaddexp(0.0, v @ self.weights_ + self.hidden_bias_).sum(axis=1)

    def log_partition_exact(self) -> float:
        """``log Z`` by enumerating every state of the smaller layer (up to :data:`MAX_EXACT_VISIBLE` units):
        the visible states through the free energy, or the hidden states through
        ``log Z = log sum_h exp(c.h) prod_i (1 + exp(b_i + W_i.h))``."""
        from scipy.special import logsumexp

        if self.n_hidden_ < self.n_visible_:
            W, b, c = self.weights_, self.visible_bias_, self.hidden_bias_
            parts = [logsumexp(h @ c + np.logaddexp(0.0, b + h @ W.T).sum(axis=1)) for h in _all_states(self.n_hidden_)]
        else:
            parts = [logsumexp(-self.free_energy(block)) for block in _all_states(self.n_visible_)]
        return float(logsumexp(parts))

    def probabilities_exact(self) -> np.ndarray:
        """``p(v)`` of every visible state, in the order of :func:`all_states` (bits of the state index,
        most significant first)."""
        log_z = self.log_partition_exact()
        return np.concatenate([np.exp(-self.free_energy(block) - log_z) for block in _all_states(self.n_visible_)])

    def log_partition_ais(
        self, *, n_chains: int = 200, n_temperatures: int = 2000, seed: int = 0
    ) -> tuple[float, float]:
        """``log Z`` by annealed importance sampling from the RBM with no weights and the same visible
        biases (whose ``log Z`` is exact) through ``n_temperatures`` linearly spaced inverse
        temperatures of the weights and hidden biases, ``n_chains`` chains with one Gibbs step each.
        Returns the estimate and its standard error (delta method on the mean importance weight)."""
        check_positive_int("n_chains", n_chains, 2)
        check_positive_int("n_temperatures", n_temperatures, 2)
        rng = np.random.default_rng(seed)
        W, b, c = self.weights_, self.visible_bias_, self.hidden_bias_
        betas = np.linspace(0.0, 1.0, n_temperatures)
        log_z_base = float(np.logaddexp(0.0, b).sum() + self.n_hidden_ * math.log(2.0))
        v = (rng.random((n_chains, len(b))) < 1 / (1 + np.exp(-b))).astype(float)
        log_w = np.zeros(n_chains)

        def log_p(v: np.ndarray, beta: float) -> np.ndarray:
            return v @ b + np.logaddexp(0.0, beta * (v @ W + c)).sum(axis=1)

        for k in range(1, n_temperatures):
            log_w += log_p(v, betas[k]) - log_p(v, betas[k - 1])
            h = (rng.random((n_chains, len(c))) < 1 / (1 + np.exp(-betas[k] * (v @ W + c)))).astype(float)
            v = (rng.random(v.shape) < 1 / (1 + np.exp(-(b + betas[k] * (h @ W.T))))).astype(float)
        top = log_w.max()
        weights = np.exp(log_w - top)
        estimate = log_z_base + top + math.log(weights.mean())
        return float(estimate), float(weights.std(ddof=1) / (math.sqrt(n_chains) * weights.mean()))

    @property
    def n_hidden_(self) -> int:
        return int(self.weights_.shape[1])

    def log_likelihood(self, X: Any, log_z: float | None = None) -> float:
        """Mean ``log p(v)`` of the rows of ``X`` (nats); ``log Z`` exact unless given."""
        log_z = self.log_partition_exact() if log_z is None else log_z
        return float(np.mean(-self.free_energy(X) - log_z))

    def sample(self, n: int, *, n_gibbs: int = 1000, seed: int = 0) -> np.ndarray:
        """``n`` visible states (bits) after ``n_gibbs`` block-Gibbs steps from random states."""
        rng = np.random.default_rng(seed)
        W, b, c = self.weights_, self.visible_bias_, self.hidden_bias_
        v = (rng.random((check_positive_int("n", n), len(b))) < 0.5).astype(float)
        for _ in range(check_positive_int("n_gibbs", n_gibbs)):
            h = (rng.random((len(v), len(c))) < 1 / (1 + np.exp(-(v @ W + c)))).astype(float)
            v = (rng.random(v.shape) < 1 / (1 + np.exp(-(h @ W.T + b)))).astype(float)
        return v


def all_states(n: int) -> np.ndarray:
    """Every binary state of ``n`` units ``(2^n, n)``, the bits of 0 .. 2^n - 1, most significant first.

    Examples
    --------
    >>> all_states(2).tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    return np.concatenate(list(_all_states(n)))


def _all_states(n: int, block: int = 2**16):
    """:func:`all_states` in blocks of ``block`` rows (``n <= MAX_EXACT_VISIBLE``)."""
    if n > MAX_EXACT_VISIBLE:
        raise ValueError(f"n_visible: exact enumeration is limited to {MAX_EXACT_VISIBLE} units, got {n}")
    for start in range(0, 2**n, block):
        index = np.arange(start, min(start + block, 2**n))[:, None]
        yield ((index >> np.arange(n - 1, -1, -1)) & 1).astype(float)


def _as_bits(X: Any) -> np.ndarray:
    x = np.asarray(X, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"X must be (n_samples, n_visible), got shape {x.shape}")
    x = x.reshape(len(x), -1)
    if x.min(initial=0) < 0:  # spins
        x = (x + 1) / 2
    if not np.all((x == 0) | (x == 1)):
        raise ValueError("X must hold bits 0/1 or spins -1/+1")
    return x
