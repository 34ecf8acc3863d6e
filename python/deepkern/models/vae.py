"""Variational autoencoders (Kingma & Welling 2014): MLP (PyTorch's examples/vae architecture) and
convolutional.

The encoder maps x to the parameters of a diagonal Gaussian q(z|x) = N(μ, diag(σ²)) (it outputs
μ and log σ²); the decoder maps z to Bernoulli logits of p(x|z). Training minimizes the negative
evidence lower bound per image, in nats:

    -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) ‖ N(0, I)),
    KL = -½ Σ_j (1 + log σ_j² - μ_j² - σ_j²)               (closed form for two Gaussians),

with one sample z = μ + σ ⊙ ε, ε ~ N(0, I) (the reparameterization trick: the randomness sits in
ε, so gradients flow through μ and σ). The reconstruction term is the binary cross-entropy of the
decoder's logits against the pixels in [0, 1], summed over pixels — PyTorch's examples/vae loss.
State-dict names of :class:`VAE` equal that example's (fc1, fc21, fc22, fc3, fc4).
"""
from __future__ import annotations


from .. import functional as F
from .. import nn
from .._backend import array_module
from .._random import generator
from ..autograd import Tensor

__all__ = ["VAE", "ConvVAE", "vae_loss", "kl_divergence", "reparameterize"]


def kl_divergence(mu, logvar):
    """KL(N(μ, diag(exp(logvar))) ‖ N(0, I)) summed over latent dims and the batch:
    -½ Σ (1 + logvar - μ² - exp(logvar)). mu, logvar (N, k)."""
    return (1.0 + logvar - mu * mu - F.exp(logvar)).sum() * (-0.5)


def reparameterize(mu, logvar, rng=None):
    """z = μ + exp(½ logvar) ⊙ ε with ε ~ N(0, I) drawn from ``rng`` (default deepkern's generator)."""
    rng = generator() if rng is None else rng
    xp = array_module(mu.data)
    eps = xp.asarray(rng.standard_normal(mu.shape), dtype=mu.dtype)
    return mu + F.exp(logvar * 0.5) * Tensor(eps)


def vae_loss(logits, x, mu, logvar):
    """(total, reconstruction, kl), each summed over the batch (divide by N for nats per image):
    BCE(σ(logits), x) summed over pixels + KL. logits and x: (N, D) or (N, C, H, W) alike."""
    target = x.data if isinstance(x, Tensor) else x
    if tuple(logits.shape) != tuple(target.shape):
        logits = logits.reshape(target.shape)
    recon = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
    kl = kl_divergence(mu, logvar)
    return recon + kl, recon, kl


class _VAEBase(nn.Module):
    def forward(self, x, sample=None, rng=None):
        """(logits, mu, logvar) of x; z = μ + σ ⊙ ε with ε drawn from ``rng`` (default deepkern's
        generator) when ``sample`` (default: in training mode), else z = μ."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, rng) if (self.training if sample is None else sample) else mu
        return self.decode(z), mu, logvar

    def loss(self, x, rng=None):
        """(total, reconstruction, kl) of a batch, summed over it (see :func:`vae_loss`), with one
        sampled z per image (in either mode, as the negative ELBO is defined)."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        logits, mu, logvar = self(x, sample=True, rng=rng)
        return vae_loss(logits, self._target(x), mu, logvar)

    def sample(self, n, rng=None):
        """n images from the prior: σ(decode(z)), z ~ N(0, I) (N, *image shape) as an array."""
        rng = generator() if rng is None else rng
        p = next(iter(self.parameters())).data
        z = array_module(p).asarray(rng.standard_normal((int(n), self.latent)), dtype=p.dtype)
        return F.sigmoid(self.decode(Tensor(z))).data


class VAE(_VAEBase):
    """MLP VAE, PyTorch's examples/vae: 784 -> 400 (ReLU) -> (μ, log σ²) of ``latent`` = 20 dims;
    z -> 400 (ReLU) -> 784 logits. ``encode(x)`` (N, 784) or (N, 1, 28, 28) -> (mu, logvar);
    ``decode(z)`` -> logits (N, 784)."""

    def __init__(self, in_features=784, hidden=400, latent=20, dtype=None):
        super().__init__()
        if min(in_features, hidden, latent) < 1:
            raise ValueError(f"VAE: sizes must be positive, got in_features={in_features}, hidden={hidden}, "
                             f"latent={latent}")
        self.in_features, self.hidden, self.latent = int(in_features), int(hidden), int(latent)
        self.fc1 = nn.Linear(in_features, hidden, dtype=dtype)
        self.fc21 = nn.Linear(hidden, latent, dtype=dtype)
        self.fc22 = nn.Linear(hidden, latent, dtype=dtype)
        self.fc3 = nn.Linear(latent, hidden, dtype=dtype)
        self.fc4 = nn.Linear(hidden, in_features, dtype=dtype)

    def encode(self, x):
        h = F.relu(self.fc1(x.reshape(x.shape[0], -1)))
        return self.fc21(h), self.fc22(h)

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def _target(self, x):
        return x.reshape(x.shape[0], -1)

    def extra_repr(self):
        return f"{self.in_features}-{self.hidden}-{self.latent}"


class ConvVAE(_VAEBase):
    """Convolutional VAE for (N, C, 28, 28) images:

        encoder: conv4x4/2 (C->32) 14x14 - ReLU - conv4x4/2 (32->64) 7x7 - ReLU - Linear(3136 -> 256)
                 - ReLU - (μ, log σ²) of ``latent`` dims
        decoder: Linear(latent -> 256) - ReLU - Linear(256 -> 3136) - ReLU - convT4x4/2 (64->32) 14x14
                 - ReLU - convT4x4/2 (32->C) 28x28 logits
    """

    def __init__(self, in_channels=1, latent=20, channels=(32, 64), hidden=256, dtype=None):
        super().__init__()
        c1, c2 = channels
        self.in_channels, self.latent, self.channels = int(in_channels), int(latent), (c1, c2)
        self.conv = nn.Sequential(nn.Conv2d(in_channels, c1, 4, stride=2, padding=1, dtype=dtype), nn.ReLU(),
                                  nn.Conv2d(c1, c2, 4, stride=2, padding=1, dtype=dtype), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(c2 * 49, hidden, dtype=dtype), nn.ReLU())
        self.fc_mu = nn.Linear(hidden, latent, dtype=dtype)
        self.fc_logvar = nn.Linear(hidden, latent, dtype=dtype)
        self.fc = nn.Sequential(nn.Linear(latent, hidden, dtype=dtype), nn.ReLU(),
                                nn.Linear(hidden, c2 * 49, dtype=dtype), nn.ReLU())
        self.deconv = nn.Sequential(nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1, dtype=dtype), nn.ReLU(),
                                    nn.ConvTranspose2d(c1, in_channels, 4, stride=2, padding=1, dtype=dtype))

    def encode(self, x):
        h = self.conv(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z):
        h = self.fc(z)
        return self.deconv(h.reshape(h.shape[0], self.channels[1], 7, 7))

    def _target(self, x):
        return x

    def extra_repr(self):
        return f"latent={self.latent}, channels={self.channels}"
