"""Bernoulli restricted Boltzmann machine trained with contrastive divergence (CD-k).

Binary visible units v (D,) and hidden units h (H,), energy E(v, h) = -bᵀv - cᵀh - hᵀWv with
W (H, D) (``weight``), b (``visible_bias``), c (``hidden_bias``). The conditionals factorize:
p(h_j = 1 | v) = σ(c_j + W_j·v), p(v_i = 1 | h) = σ(b_i + Wᵀ_i·h). The log-likelihood gradient
⟨v hᵀ⟩_data - ⟨v hᵀ⟩_model is estimated by CD-k (Hinton 2002): start a Gibbs chain at the data
v0, alternate h ~ p(h|v), v ~ p(v|h) k times, and use the chain's end for the model term.
Following Hinton's practical guide (2010): the hidden states that drive the chain are sampled,
the reconstructions are probabilities (``sample_visible=False``), and the statistics use hidden
probabilities, which lowers the estimate's variance without biasing it further.

:meth:`RBM.contrastive_divergence` writes the *negative* gradient estimate into the parameters'
``.grad``, so any deepkern optimizer (SGD with momentum and weight decay, as in the guide)
performs the update. The arrays are NumPy or CuPy; the kernels are deepkern's (linear, matmul,
sigmoid). Stacked RBMs pre-train deep autoencoders (models.autoencoder.pretrain_stack).
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn, ops
from .._backend import array_module
from .._random import generator

__all__ = ["RBM"]


class RBM(nn.Module):
    """Bernoulli-Bernoulli RBM with ``n_visible`` and ``n_hidden`` units, trained by CD-``k``.

    Parameters: ``weight`` (n_hidden, n_visible) ~ N(0, 0.01²), ``visible_bias`` (n_visible,) and
    ``hidden_bias`` (n_hidden,) zero. ``forward(v)`` (a Tensor (N, n_visible)) returns
    p(h = 1 | v) (N, n_hidden), differentiable, so a trained RBM serves as an encoder layer.
    """

    def __init__(self, n_visible, n_hidden, k=1, sample_visible=False, dtype=None):
        super().__init__()
        n_visible, n_hidden, k = int(n_visible), int(n_hidden), int(k)
        if n_visible < 1 or n_hidden < 1 or k < 1:
            raise ValueError(f"RBM: n_visible, n_hidden and k must be >= 1, got {n_visible}, {n_hidden}, {k}")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.n_visible, self.n_hidden, self.k, self.sample_visible = n_visible, n_hidden, k, bool(sample_visible)
        self.weight = nn.Parameter((generator().standard_normal((n_hidden, n_visible)) * 0.01).astype(dtype))
        self.visible_bias = nn.Parameter(np.zeros(n_visible, dtype=dtype))
        self.hidden_bias = nn.Parameter(np.zeros(n_hidden, dtype=dtype))

    # ---- the conditionals (arrays in, arrays out) --------------------------------------
    def _check(self, v, name="v", width=None):
        width = self.n_visible if width is None else width
        if v.ndim != 2 or v.shape[1] != width:
            raise ValueError(f"RBM: {name} must be (N, {width}), got shape {tuple(v.shape)}")
        if v.dtype != self.weight.dtype:
            raise TypeError(f"RBM: {name} is {v.dtype} but the parameters are {self.weight.dtype}")

    def hidden_probs(self, v):
        """p(h = 1 | v) = σ(v Wᵀ + c): v (N, n_visible) -> (N, n_hidden)."""
        self._check(v)
        return ops.sigmoid(ops.linear(v, self.weight.data, self.hidden_bias.data))

    def visible_probs(self, h):
        """p(v = 1 | h) = σ(h W + b): h (N, n_hidden) -> (N, n_visible)."""
        self._check(h, "h", self.n_hidden)
        return ops.sigmoid(ops.matmul(h, self.weight.data) + self.visible_bias.data)

    def free_energy(self, v):
        """F(v) = -bᵀv - Σ_j softplus(c_j + W_j·v), per row of v (N, n_visible) -> (N,);
        p(v) ∝ exp(-F(v))."""
        self._check(v)
        xp = array_module(v)
        act = ops.linear(v, self.weight.data, self.hidden_bias.data)
        softplus = xp.maximum(act, 0) + xp.log1p(xp.exp(-xp.abs(act)))
        return -(v @ self.visible_bias.data) - softplus.sum(axis=1)

    @staticmethod
    def _bernoulli(p, rng):
        xp = array_module(p)
        return (xp.asarray(rng.random(p.shape)) < p).astype(p.dtype)

    def gibbs(self, v, steps=1, rng=None):
        """``steps`` rounds of h ~ p(h|v), v ~ p(v|h) from v (N, n_visible); returns the last
        visible probabilities (N, n_visible)."""
        rng = generator() if rng is None else rng
        pv = v
        for _ in range(int(steps)):
            h = self._bernoulli(self.hidden_probs(v), rng)
            pv = self.visible_probs(h)
            v = self._bernoulli(pv, rng)
        return pv

    # ---- learning ---------------------------------------------------------------------
    def contrastive_divergence(self, v0, k=None, rng=None):
        """CD-k on the batch v0 (N, n_visible) (binary, or probabilities in [0, 1]).

        Sets ``.grad`` of weight, visible_bias and hidden_bias to minus the CD estimate of the
        mean log-likelihood gradient:
            grad W = -(p(h|v0)ᵀ v0 - p(h|vk)ᵀ vk) / N, grad b = -mean(v0 - vk), grad c = -mean(p(h|v0) - p(h|vk)),
        (an optimizer step then moves up the likelihood) and returns the mean squared error per
        pixel between v0 and its first reconstruction p(v|h0). ``rng`` (a NumPy Generator;
        default deepkern's) draws the samples.
        """
        xp = array_module(self.weight.data)
        if not hasattr(v0, "shape") or array_module(v0) is not xp:
            v0 = xp.asarray(v0, dtype=self.weight.dtype)
        self._check(v0)
        k = self.k if k is None else int(k)
        rng = generator() if rng is None else rng
        n = max(1, v0.shape[0])
        ph0 = self.hidden_probs(v0)
        h = self._bernoulli(ph0, rng)
        first = None
        for step in range(k):
            pv = self.visible_probs(h)
            first = pv if first is None else first
            v = self._bernoulli(pv, rng) if self.sample_visible else pv
            phk = self.hidden_probs(v)
            if step + 1 < k:
                h = self._bernoulli(phk, rng)
        scale = self.weight.dtype.type(1.0 / n)
        positive = ops.matmul(ph0, v0, trans_a=True)
        negative = ops.matmul(phk, v, trans_a=True)
        self.weight.grad = (negative - positive) * scale
        self.visible_bias.grad = (v.sum(axis=0) - v0.sum(axis=0)) * scale
        self.hidden_bias.grad = (phk.sum(axis=0) - ph0.sum(axis=0)) * scale
        return float(((v0 - first) ** 2).mean()) if v0.size else 0.0

    def reconstruct(self, v):
        """p(v | h ~ p(h|v)) with mean-field hidden units: σ(σ(v Wᵀ + c) W + b)."""
        return self.visible_probs(self.hidden_probs(v))

    def forward(self, v):
        return F.sigmoid(F.linear(v, self.weight, self.hidden_bias))

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}, k={self.k}"
