"""Learnability of configurations by a small transformer ("Attention to Order")."""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .._checks import check_number, check_positive_int
from ..progress import track
from ._base import Analysis, LineDetector
from ._grid import ParameterGrid
from ._indicators import interior_peak
from ._networks import sample_folds

__all__ = ["Learnability"]


def _positional_encoding(rows: int, cols: int, d_model: int) -> np.ndarray:
    """2-D sinusoidal encoding: half the channels encode the row, half the column."""
    half = d_model // 2
    freqs = np.exp(-np.log(10_000.0) * np.arange(0, half, 2) / half)

    def enc(pos: np.ndarray) -> np.ndarray:
        angles = pos[:, None] * freqs[None, :]
        out = np.zeros((pos.size, half))
        out[:, 0::2], out[:, 1::2] = np.sin(angles), np.cos(angles[:, : out[:, 1::2].shape[1]])
        return out

    r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return np.concatenate([enc(r.ravel().astype(float)), enc(c.ravel().astype(float))], axis=1).astype(np.float32)


def _build_model(
    n_states: int, patch: tuple[int, int], grid: tuple[int, int], d_model: int, n_heads: int, n_layers: int
):
    import torch
    from torch import nn

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
            self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
            self.ff = nn.Sequential(nn.Linear(d_model, 2 * d_model), nn.GELU(), nn.Linear(2 * d_model, d_model))

        def forward(self, h):
            a, w = self.attn(self.norm1(h), self.norm1(h), self.norm1(h), need_weights=True, average_attn_weights=False)
            h = h + a
            return h + self.ff(self.norm2(h)), w

    class MaskedSpinTransformer(nn.Module):
        """Tokens = patches of sites (one-hot state, or a mask flag); predicts every site's state."""

        def __init__(self) -> None:
            super().__init__()
            token = (n_states + 1) * patch[0] * patch[1]
            self.embed = nn.Linear(token, d_model)
            self.register_buffer("pos", torch.from_numpy(_positional_encoding(*grid, d_model)))
            self.layers = nn.ModuleList([Layer() for _ in range(n_layers)])
            self.head = nn.Linear(d_model, patch[0] * patch[1] * n_states)

        def forward(self, tokens):
            h = self.embed(tokens) + self.pos
            weights = []
            for layer in self.layers:
                h, w = layer(h)
                weights.append(w)
            return self.head(h), torch.stack(weights, dim=1)  # (B, tokens, p*p*states), (B, layers, heads, q, k)

    return MaskedSpinTransformer()


class Learnability(LineDetector):
    """How learnable the configurations are: masked-spin prediction by a small transformer per point.

    After "Attention to Order" (Oezoender, 2025): at every parameter value an
    encoder-only transformer (patch tokens with a 2-D sinusoidal positional
    encoding, ``n_layers`` of multi-head self-attention) is trained from scratch
    to predict randomly masked sites from the rest. Ordered configurations are
    easy to complete, disordered ones are not; the final held-out loss and the
    attention entropy (how spread out each query's attention is, normalised by
    ``log(tokens)``) vs the parameter are the diagnostics, and the transition is
    where the loss changes fastest. The masked-prediction objective has no
    library ``fit``, so the short Adam loop lives here.

    Parameters
    ----------
    axis : str
    patch : int, optional
        Side of the square patch of sites one token holds (sites along the line for
        1-D systems); default ``max(2, L // 8)``, i.e. 64 tokens on an L x L lattice.
    d_model, n_heads, n_layers : int
        Transformer size (default 32, 2, 2: seconds per point on a CPU core).
    mask_fraction : float
        Share of sites masked per configuration.
    steps, batch_size : int
        Adam steps per point and configurations per step.
    lr : float
    cross_fit : bool
        Train two models per point, one on each half of its samples, and judge every
        sample by the model that did not see it (default). ``False``: one model, judged
        on the other half only: half the cost, but one training draw per point then moves
        the loss curve, and its derivative, point by point.
    n_bootstrap, nu, seed : as in :class:`Confusion`.

    Attributes
    ----------
    indicator_ : xarray.DataArray
        ``d loss / d axis`` (the loss is per masked site, in nats).
    curves_ : dict
        ``loss``, ``learnability`` (the derivative), ``attention_entropy``, ``attention_change``.
    critical_points_ : list of CriticalPoint
        From the loss (``learnability``) and from the attention entropy.

    Examples
    --------
    >>> import phasemapper as pm
    >>> from phasemapper.detectors import Learnability
    >>> ds = pm.scan(pm.systems.Ising2D(L=8), {"T": [1.5, 1.9, 2.3, 2.7, 3.1]}, 40, seed=0,
    ...              executor=pm.SerialExecutor(), progress=False)
    >>> Learnability(steps=5, n_bootstrap=5).fit(ds).curves_["loss"].sizes["T"]
    5
    """

    method = "learnability"
    requires = ("torch",)

    def __init__(
        self,
        axis: str = "T",
        *,
        patch: int | None = None,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 2,
        mask_fraction: float = 0.25,
        steps: int = 150,
        batch_size: int = 32,
        lr: float = 3e-3,
        cross_fit: bool = True,
        n_bootstrap: int = 100,
        nu: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.axis, self.patch, self.d_model, self.n_heads, self.n_layers = axis, patch, d_model, n_heads, n_layers
        self.mask_fraction, self.steps, self.batch_size, self.lr = mask_fraction, steps, batch_size, lr
        self.cross_fit = cross_fit
        self.n_bootstrap, self.nu, self.seed = n_bootstrap, nu, seed

    def _check(self) -> None:
        for name in ("d_model", "n_heads", "n_layers", "steps", "batch_size"):
            check_positive_int(name, getattr(self, name))
        if self.d_model % (2 * self.n_heads) or self.d_model % 4:
            raise ValueError(f"d_model must be a multiple of 4 and of 2 * n_heads, got {self.d_model}")
        check_number("mask_fraction", self.mask_fraction, low=0, high=1, low_open=True, high_open=True)

    def _per_sample(self, ds: xr.Dataset, grid: ParameterGrid) -> np.ndarray:
        import torch

        self._check()
        da = ds["configuration"]
        if np.issubdtype(da.dtype, np.floating):
            raise ValueError("Learnability needs discrete configurations (site states), not angles")
        x = np.asarray(da.values)
        if x.ndim == 3:  # 1-D lattices: one row
            x = x[:, :, None, :]
        if x.ndim != 4:
            raise ValueError(f"Learnability takes 1-D or 2-D lattices, got site dims {da.dims[2:]}")
        states, codes = np.unique(x, return_inverse=True)
        codes = codes.reshape(x.shape)
        P, S, H, W = map(int, codes.shape)
        patch = check_positive_int("patch", self.patch if self.patch is not None else max(2, W // 8))
        ph = patch if H > 1 else 1
        pw = patch
        if H % ph or W % pw:
            raise ValueError(f"patch={patch} must divide the lattice {H}x{W}")
        folds, judged = sample_folds(P, S, self.seed, self.cross_fit)
        out = np.empty((P, S, 2))
        torch.manual_seed(self.seed)
        for p in track(range(P), f"learnability: {len(folds)} transformers per point"):
            for k, (train, test) in enumerate(folds):
                model = _build_model(
                    len(states), (ph, pw), (H // ph, W // pw), self.d_model, self.n_heads, self.n_layers
                )
                seed = self.seed + p + 7919 * k  # the second fold's draws differ from every point's first
                self._train(model, codes[p, train[p]], len(states), (ph, pw), seed=seed)
                out[p, test[p]] = self._evaluate(model, codes[p, test[p]], len(states), (ph, pw), seed=seed)
        return out[np.arange(P)[:, None], judged]

    def _tokens(self, codes, mask, n_states: int, patch: tuple[int, int]):
        import torch
        import torch.nn.functional as F

        B, H, W = codes.shape
        onehot = F.one_hot(codes, n_states).float() * (~mask)[..., None]
        site = torch.cat([onehot, mask[..., None].float()], dim=-1)  # (B, H, W, states+1)
        ph, pw = patch
        t = site.reshape(B, H // ph, ph, W // pw, pw, -1).permute(0, 1, 3, 2, 4, 5)
        return t.reshape(B, (H // ph) * (W // pw), -1)

    def _logits_per_site(self, out, shape, n_states: int, patch: tuple[int, int]):
        B, H, W = shape
        ph, pw = patch
        t = out.reshape(B, H // ph, W // pw, ph, pw, n_states).permute(0, 1, 3, 2, 4, 5)
        return t.reshape(B, H, W, n_states)

    def _train(self, model, codes: np.ndarray, n_states: int, patch: tuple[int, int], seed: int) -> None:
        import torch
        import torch.nn.functional as F

        gen = torch.Generator().manual_seed(seed)
        data = torch.from_numpy(codes.astype(np.int64))
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        model.train()
        for _ in range(int(self.steps)):
            idx = torch.randint(0, data.shape[0], (int(self.batch_size),), generator=gen)
            batch = data[idx]
            mask = torch.rand(batch.shape, generator=gen) < self.mask_fraction
            out, _ = model(self._tokens(batch, mask, n_states, patch))
            logits = self._logits_per_site(out, batch.shape, n_states, patch)
            loss = F.cross_entropy(logits[mask], batch[mask])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def _evaluate(self, model, codes: np.ndarray, n_states: int, patch: tuple[int, int], seed: int) -> np.ndarray:
        """Per held-out sample: masked-site loss (nats) and normalised attention entropy."""
        import torch
        import torch.nn.functional as F

        gen = torch.Generator().manual_seed(seed + 1_000_003)
        data = torch.from_numpy(codes.astype(np.int64))
        model.eval()
        with torch.no_grad():
            mask = torch.rand(data.shape, generator=gen) < self.mask_fraction
            out, weights = model(self._tokens(data, mask, n_states, patch))
            logits = self._logits_per_site(out, data.shape, n_states, patch)
            nll = F.cross_entropy(logits.reshape(-1, n_states), data.reshape(-1), reduction="none").reshape(data.shape)
            m = mask.float()
            loss = (nll * m).sum(dim=(1, 2)) / m.sum(dim=(1, 2)).clamp(min=1)
            n_tokens = weights.shape[-1]
            entropy = -(weights * torch.log(weights.clamp(min=1e-12))).sum(-1).mean(dim=(1, 2, 3)) / math.log(n_tokens)
        return np.stack([loss.numpy(), entropy.numpy()], axis=-1)

    def _analyses(self, x: np.ndarray) -> list[Analysis]:
        def change(k: int, sign: float):
            return lambda d: (x, sign * np.gradient(d[..., k].mean(axis=1), x))

        return [
            Analysis("learnability", change(0, 1.0), interior_peak),
            Analysis("loss", lambda d: (x, d[..., 0].mean(axis=1)), None),
            Analysis("attention_entropy", lambda d: (x, d[..., 1].mean(axis=1)), None),
            Analysis("attention_change", lambda d: (x, np.abs(np.gradient(d[..., 1].mean(axis=1), x))), None),
        ]
