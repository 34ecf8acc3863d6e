"""Autoencoders: under-complete MLP and convolutional, tied, sparse, denoising, contractive, and
stacked (greedy layer-wise pre-training of shallow autoencoders or RBMs, unrolled and fine-tuned).

An autoencoder maps x (N, D) to a code h = f(x) (N, k), k < D, and back to a reconstruction
x̂ = g(h); training minimizes the reconstruction loss L(x, x̂) plus an optional penalty:

- tied weights: the decoder uses the encoder's Wᵀ (one Parameter; autograd sums its two gradients);
- sparse: λ Σ_j |h_j| (L1, ``sparsity='l1'``), or β Σ_j KL(ρ ‖ ρ̂_j) with ρ̂_j the batch mean of a
  sigmoid code unit (``sparsity='kl'``, Ng's sparse autoencoder);
- denoising: the encoder sees a corrupted x̃ (Gaussian noise x + σε, or masking noise that zeroes a
  fraction ν of the inputs) and the loss compares x̂ with the clean x;
- contractive: λ ‖∂h/∂x‖²_F; for one sigmoid layer h = σ(Wx + b) the Jacobian is diag(h(1-h)) W,
  so the penalty is Σ_j (h_j(1-h_j))² Σ_i W_ji² (Rifai et al. 2011), no Jacobian materialized.

Images are pixels in [0, 1]; decoders output logits and the reconstruction loss is the Bernoulli
cross-entropy (summed over pixels, averaged over the batch) or the squared error. The stacked
recipe (Hinton & Salakhutdinov 2006; Bengio et al. 2007): train a shallow model (autoencoder or
Bernoulli RBM) on x, then another on its codes, and so on; stack the encoders, mirror them with
the transposed weights as the decoder (the "unrolled" deep autoencoder) — the decoder starts at
the encoders' transposes but is an independent copy, so fine-tuning (backpropagation through the
whole network) updates the two halves separately.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .. import functional as F
from .. import nn
from .._backend import array_module
from .._random import generator
from ..autograd import Tensor, no_grad

__all__ = ["Autoencoder", "ConvAutoencoder", "DeepAutoencoder", "TiedLinear", "corrupt", "l1_penalty",
           "kl_sparsity_penalty", "contractive_penalty", "reconstruction_loss", "pretrain_stack"]

_ACTIVATIONS = {"sigmoid": F.sigmoid, "relu": F.relu, "tanh": F.tanh}


def _activation(op, name):
    if name not in _ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]


def _flat(x):
    """(N, *) -> (N, D)."""
    return x if x.ndim == 2 else x.reshape(x.shape[0], -1)


# ---- losses and penalties ------------------------------------------------------------------

def reconstruction_loss(logits, x, kind="bce"):
    """Per-image reconstruction loss, averaged over the batch: 'bce' sums the Bernoulli
    cross-entropy of sigmoid(logits) against x in [0, 1] over the pixels; 'mse' sums
    (sigmoid(logits) - x)². logits and x: (N, D) (or any (N, *) of equal shapes)."""
    target = x.data if isinstance(x, Tensor) else x
    n = max(1, logits.shape[0])
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, target, reduction="sum") * (1.0 / n)
    if kind == "mse":
        return F.mse_loss(F.sigmoid(logits), target, reduction="sum") * (1.0 / n)
    raise ValueError(f"reconstruction_loss: kind must be 'bce' or 'mse', got {kind!r}")


def l1_penalty(h):
    """Σ_j |h_j| per example, averaged over the batch: h (N, k)."""
    return F.abs(h).sum() * (1.0 / max(1, h.shape[0]))


def kl_sparsity_penalty(h, target=0.05, eps=1e-6):
    """Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ/ρ̂_j) + (1-ρ) log((1-ρ)/(1-ρ̂_j)), ρ̂_j = mean over the batch of
    the sigmoid code unit h_j (N, k); ρ = ``target`` in (0, 1)."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"kl_sparsity_penalty: target must be in (0, 1), got {target}")
    rho_hat = F.clamp(h.mean(axis=0), eps, 1.0 - eps)
    return (target * F.log(target / rho_hat) + (1 - target) * F.log((1 - target) / (1 - rho_hat))).sum()


def contractive_penalty(h, weight):
    """‖∂h/∂x‖²_F per example, averaged over the batch, for a sigmoid layer h = σ(x Wᵀ + b):
    Σ_j (h_j (1 - h_j))² Σ_i W_ji². h (N, k), weight (k, D)."""
    slope = h * (1.0 - h)
    return ((slope * slope) * (weight * weight).sum(axis=1)).sum() * (1.0 / max(1, h.shape[0]))


def corrupt(x, noise, level, rng=None):
    """A corrupted copy of the array x for a denoising autoencoder: 'gaussian' adds N(0, level²)
    noise, 'masking' zeroes each input independently with probability ``level``."""
    rng = generator() if rng is None else rng
    xp = array_module(x)
    if noise == "gaussian":
        return x + xp.asarray(rng.standard_normal(x.shape, dtype=np.float64) * level, dtype=x.dtype)
    if noise == "masking":
        if not 0.0 <= level < 1.0:
            raise ValueError(f"corrupt: the masking fraction must be in [0, 1), got {level}")
        return x * xp.asarray(rng.random(x.shape) >= level, dtype=x.dtype)
    raise ValueError(f"corrupt: noise must be 'gaussian' or 'masking', got {noise!r}")


# ---- layers ----------------------------------------------------------------------------------

class TiedLinear(nn.Module):
    """A decoder layer that uses another Linear's weight transposed: y = x @ W + b, W (out, in) the
    source layer's weight, so (N, source.out_features) -> (N, source.in_features). Only the bias
    is its own Parameter; the weight stays the source's (one entry in the state_dict, and the
    gradients of both uses add up in it)."""

    def __init__(self, source: nn.Linear, bias=True):
        super().__init__()
        object.__setattr__(self, "_source", source)      # not a child: the weight is registered once
        self.in_features, self.out_features = source.out_features, source.in_features
        if bias:
            self.bias = nn.Parameter(np.zeros(self.out_features, dtype=source.weight.dtype))
        else:
            self.register_parameter("bias", None)

    @property
    def weight(self):
        return self._source.weight

    def forward(self, x):
        y = F.matmul(x, self._source.weight)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, tied to the encoder"


class Autoencoder(nn.Module):
    """MLP autoencoder with encoder widths ``sizes`` = [D, h1, ..., k] and the mirrored decoder.

    Args:
        sizes: at least two widths; the code is the last.
        activation: hidden and code nonlinearity ('sigmoid', 'relu', 'tanh'); the decoder's last
            layer outputs logits (sigmoid(logits) is the reconstruction).
        tied: decoder layer i uses encoder layer i's weight transposed (:class:`TiedLinear`).
        loss: 'bce' or 'mse' (see :func:`reconstruction_loss`).
        sparsity: None, 'l1' (weight λ = ``sparsity_weight``) or 'kl' (target ρ =
            ``sparsity_target``, weight β = ``sparsity_weight``; needs a sigmoid code).
        noise: None, 'gaussian' or 'masking' (a denoising autoencoder), ``noise_level`` σ or ν.
        contractive_weight: λ of the contractive penalty (needs one sigmoid encoder layer).

    ``encode(x)`` (N, D) or (N, 1, H, W) -> (N, k); ``decode(h)`` -> logits (N, D);
    ``forward(x)`` = decode(encode(x)); ``loss(x)`` -> (total, reconstruction) as Tensors, with the
    corruption applied in training mode.
    """

    def __init__(self, sizes=(784, 256, 64), activation="sigmoid", tied=False, loss="bce", sparsity=None,
                 sparsity_weight=1e-3, sparsity_target=0.05, noise=None, noise_level=0.3, contractive_weight=0.0,
                 dtype=None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        name = type(self).__name__
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"{name}: sizes must list at least two positive widths, got {sizes}")
        self.act = _activation(name, activation)
        if loss not in ("bce", "mse"):
            raise ValueError(f"{name}: loss must be 'bce' or 'mse', got {loss!r}")
        if sparsity not in (None, "l1", "kl"):
            raise ValueError(f"{name}: sparsity must be None, 'l1' or 'kl', got {sparsity!r}")
        if sparsity == "kl" and activation != "sigmoid":
            raise ValueError(f"{name}: the KL sparsity target needs sigmoid codes (mean activations in (0, 1)), "
                             f"got activation={activation!r}")
        if noise not in (None, "gaussian", "masking"):
            raise ValueError(f"{name}: noise must be None, 'gaussian' or 'masking', got {noise!r}")
        if noise == "masking" and not 0.0 <= noise_level < 1.0:
            raise ValueError(f"{name}: the masking noise_level (fraction of zeroed inputs) must be in [0, 1), "
                             f"got {noise_level}")
        if noise == "gaussian" and noise_level < 0:
            raise ValueError(f"{name}: the gaussian noise_level (sigma) must be >= 0, got {noise_level}")
        if contractive_weight < 0 or sparsity_weight < 0:
            raise ValueError(f"{name}: penalty weights must be >= 0, got sparsity_weight={sparsity_weight}, "
                             f"contractive_weight={contractive_weight}")
        if contractive_weight and (len(sizes) != 2 or activation != "sigmoid"):
            raise ValueError(f"{name}: the contractive penalty's closed form needs one sigmoid encoder layer "
                             f"(sizes=[D, k], activation='sigmoid'), got sizes={sizes}, activation={activation!r}")
        self.sizes, self.activation, self.tied, self.loss_kind = sizes, activation, bool(tied), loss
        self.sparsity, self.sparsity_weight, self.sparsity_target = sparsity, float(sparsity_weight), sparsity_target
        self.noise, self.noise_level, self.contractive_weight = noise, float(noise_level), float(contractive_weight)
        self.encoder = nn.ModuleList([nn.Linear(a, b, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:])])
        if tied:
            self.decoder = nn.ModuleList([TiedLinear(layer) for layer in reversed(list(self.encoder))])
        else:
            self.decoder = nn.ModuleList([nn.Linear(b, a, dtype=dtype) for a, b in
                                          reversed(list(zip(sizes[:-1], sizes[1:])))])

    def encode(self, x):
        h = _flat(x)
        for layer in self.encoder:
            h = self.act(layer(h))
        return h

    def decode(self, h):
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i + 1 < len(self.decoder):
                h = self.act(h)
        return h

    def forward(self, x):
        return self.decode(self.encode(x))

    def loss(self, x):
        """(total loss, reconstruction loss) of a batch x (N, D) or (N, 1, H, W) of pixels in [0, 1]."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        clean = _flat(x)
        seen = Tensor(corrupt(clean.data, self.noise, self.noise_level)) if self.noise and self.training else clean
        h = self.encode(seen)
        recon = reconstruction_loss(self.decode(h), clean, self.loss_kind)
        total = recon
        if self.sparsity == "l1":
            total = total + self.sparsity_weight * l1_penalty(h)
        elif self.sparsity == "kl":
            total = total + self.sparsity_weight * kl_sparsity_penalty(h, self.sparsity_target)
        if self.contractive_weight:
            total = total + self.contractive_weight * contractive_penalty(h, self.encoder[0].weight)
        return total, recon

    def extra_repr(self):
        extras = [f"sizes={self.sizes}", f"activation={self.activation!r}"]
        if self.tied:
            extras.append("tied=True")
        if self.sparsity:
            extras.append(f"sparsity={self.sparsity!r}")
        if self.noise:
            extras.append(f"noise={self.noise!r}({self.noise_level:g})")
        if self.contractive_weight:
            extras.append(f"contractive_weight={self.contractive_weight:g}")
        return ", ".join(extras)


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for (N, C, 28, 28) images:

        encoder: conv3x3/2 (C->c1) 14x14 - ReLU - conv3x3/2 (c1->c2) 7x7 - ReLU - Linear(c2*49 -> code)
        decoder: Linear(code -> c2*49) - ReLU - convT3x3/2 (c2->c1) 14x14 - ReLU - convT3x3/2 (c1->C) 28x28

    The transposed convolutions (stride 2, padding 1, output_padding 1) exactly undo the strided
    convolutions' sizes. The decoder outputs logits; ``loss``, ``noise`` and ``sparsity='l1'``
    work as in :class:`Autoencoder`.
    """

    def __init__(self, in_channels=1, code=32, channels=(16, 32), loss="bce", sparsity=None, sparsity_weight=1e-3,
                 noise=None, noise_level=0.3, image_size=28, dtype=None):
        super().__init__()
        name = type(self).__name__
        if sparsity not in (None, "l1"):
            raise ValueError(f"{name}: sparsity must be None or 'l1', got {sparsity!r}")
        if noise not in (None, "gaussian", "masking"):
            raise ValueError(f"{name}: noise must be None, 'gaussian' or 'masking', got {noise!r}")
        if loss not in ("bce", "mse"):
            raise ValueError(f"{name}: loss must be 'bce' or 'mse', got {loss!r}")
        if image_size % 4:
            raise ValueError(f"{name}: image_size must be a multiple of 4, got {image_size}")
        c1, c2 = channels
        self.side = image_size // 4
        self.in_channels, self.code, self.channels = in_channels, int(code), (c1, c2)
        self.loss_kind, self.sparsity, self.sparsity_weight = loss, sparsity, float(sparsity_weight)
        self.noise, self.noise_level = noise, float(noise_level)
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, stride=2, padding=1, dtype=dtype), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1, dtype=dtype), nn.ReLU(),
            nn.Flatten(), nn.Linear(c2 * self.side ** 2, code, dtype=dtype))
        self.fc = nn.Linear(code, c2 * self.side ** 2, dtype=dtype)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1, dtype=dtype), nn.ReLU(),
            nn.ConvTranspose2d(c1, in_channels, 3, stride=2, padding=1, output_padding=1, dtype=dtype))

    def encode(self, x):
        return self.encoder(x)

    def decode(self, h):
        """(N, code) -> logits (N, C, H, W)."""
        h = F.relu(self.fc(h))
        return self.decoder(h.reshape(h.shape[0], self.channels[1], self.side, self.side))

    def forward(self, x):
        return self.decode(self.encode(x))

    def loss(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        seen = Tensor(corrupt(x.data, self.noise, self.noise_level)) if self.noise and self.training else x
        h = self.encode(seen)
        recon = reconstruction_loss(_flat(self.decode(h)), _flat(x), self.loss_kind)
        total = recon + self.sparsity_weight * l1_penalty(h) if self.sparsity == "l1" else recon
        return total, recon


class DeepAutoencoder(nn.Module):
    """The unrolled deep autoencoder of the stacked recipe: sigmoid encoder layers of widths
    ``sizes`` = [D, h1, ..., k] and the mirrored decoder (sigmoid hidden layers, logits out), all
    weights independent (untied). ``from_stack(layers)`` builds it from pre-trained shallow models:
    encoder layer i gets (W_i, hidden bias_i), decoder layer i gets (W_iᵀ, visible bias_i).
    ``encode``, ``decode``, ``forward`` and ``loss`` as :class:`Autoencoder` (``loss`` 'bce'/'mse')."""

    def __init__(self, sizes=(784, 256, 128, 32), loss="bce", dtype=None):
        super().__init__()
        self.inner = Autoencoder(sizes, activation="sigmoid", tied=False, loss=loss, dtype=dtype)
        self.sizes = self.inner.sizes

    @classmethod
    def from_stack(cls, layers, loss="bce"):
        """``layers``: (weight (out, in), hidden_bias (out,), visible_bias (in,)) per level, bottom
        first (arrays), e.g. from :func:`pretrain_stack`."""
        sizes = [layers[0][0].shape[1]] + [w.shape[0] for w, _, _ in layers]
        for (w, _, _), n_in in zip(layers, sizes[:-1]):
            if w.shape[1] != n_in:
                raise ValueError(f"DeepAutoencoder.from_stack: layer weights {[w.shape for w, _, _ in layers]} "
                                 "do not chain (each layer's inputs are the previous layer's outputs)")
        model = cls(sizes, loss=loss, dtype=layers[0][0].dtype)
        for layer, (w, bh, _) in zip(model.inner.encoder, layers):
            layer.weight.data, layer.bias.data = w.copy(), bh.copy()
        for layer, (w, _, bv) in zip(model.inner.decoder, reversed(layers)):
            layer.weight.data, layer.bias.data = w.T.copy(), bv.copy()
        return model

    def encode(self, x):
        return self.inner.encode(x)

    def decode(self, h):
        return self.inner.decode(h)

    def forward(self, x):
        return self.inner(x)

    def loss(self, x):
        return self.inner.loss(x)


def pretrain_stack(data, sizes, method="autoencoder", epochs=5, batch_size=64, lr=None, k=1, seed=0,
                   progress=False, log=None):
    """Greedy layer-wise pre-training: one shallow model per level of ``sizes`` = [D, h1, ..., k],
    each trained on the codes of the level below. ``data`` (N, D) in [0, 1] (NumPy).

    method 'autoencoder': a tied sigmoid autoencoder (Adam, default lr 1e-3); 'rbm': a Bernoulli
    RBM trained with CD-``k`` (SGD with momentum 0.5 then 0.9 and a small weight decay, as
    Hinton's practical guide; default lr 0.05). ``log(level, epoch, value)`` receives the
    per-epoch reconstruction error; ``progress`` shows a bar per epoch. Returns
    [(weight (out, in), hidden_bias, visible_bias), ...]
    as NumPy arrays, bottom first, for :meth:`DeepAutoencoder.from_stack`.
    """
    from .. import optim
    from .rbm import RBM

    if method not in ("autoencoder", "rbm"):
        raise ValueError(f"pretrain_stack: method must be 'autoencoder' or 'rbm', got {method!r}")
    sizes = [int(s) for s in sizes]
    if data.ndim != 2 or data.shape[1] != sizes[0]:
        raise ValueError(f"pretrain_stack: data must be (N, {sizes[0]}), got {data.shape}")
    rng = np.random.default_rng(seed)
    layers = []
    codes = np.ascontiguousarray(data, dtype=np.float32)
    for level, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if method == "rbm":
            model = RBM(n_in, n_out, k=k)
            opt = optim.SGD(model.parameters(), lr=0.05 if lr is None else lr, momentum=0.5, weight_decay=2e-4)
        else:
            model = Autoencoder([n_in, n_out], activation="sigmoid", tied=True)
            opt = optim.Adam(model.parameters(), lr=1e-3 if lr is None else lr)
        for epoch in range(epochs):
            if method == "rbm" and epoch == min(5, epochs // 2):
                opt.param_groups[0]["momentum"] = 0.9
            order = rng.permutation(len(codes))
            total, seen = 0.0, 0
            starts = range(0, len(codes), batch_size)
            for start in tqdm(starts, desc=f"{method} {level + 1}/{len(sizes) - 1} epoch {epoch + 1}/{epochs}",
                              disable=not progress, leave=False, unit="batch"):
                batch = codes[order[start:start + batch_size]]
                opt.zero_grad()
                if method == "rbm":
                    err = model.contrastive_divergence(batch, rng=rng)
                else:
                    loss, recon = model.loss(batch)
                    loss.backward()
                    err = recon.item()
                opt.step()
                total, seen = total + err * len(batch), seen + len(batch)
            if log is not None:
                log(level, epoch, total / max(1, seen))
        with no_grad():
            if method == "rbm":
                w, bh, bv = model.weight.data, model.hidden_bias.data, model.visible_bias.data
                codes = model.hidden_probs(codes)
            else:
                enc, dec = model.encoder[0], model.decoder[0]
                w, bh, bv = enc.weight.data, enc.bias.data, dec.bias.data
                codes = model.encode(Tensor(codes)).data
        layers.append((np.array(w), np.array(bh), np.array(bv)))
        codes = np.ascontiguousarray(codes, dtype=np.float32)
    return layers
