"""Generative adversarial networks (Goodfellow et al. 2014): an MLP GAN, a DCGAN (Radford et al.
2016) for 28x28 images, and a 1-D demo that learns a known distribution.

A generator G maps noise z ~ N(0, I) to an image (tanh: pixels in [-1, 1]); a discriminator D
maps an image to a logit, D(x) = σ(logit) the probability that x is real. The two play
min_G max_D E_x[log D(x)] + E_z[log(1 - D(G(z)))], trained by alternating steps:

- discriminator: minimize BCE(D(x), 1 - s) + BCE(D(G(z)), 0), with one-sided label smoothing s
  (real targets 1 - s, Salimans et al. 2016) as an option;
- generator: the minimax loss minimizes log(1 - D(G(z))), which saturates (vanishing gradient)
  while D rejects the samples easily; the non-saturating loss maximizes log D(G(z)) instead,
  i.e. minimizes BCE(D(G(z)), 1) — same fixed point, strong gradients early (the default).

The 1-D demo follows the course's motivation: sampling a distribution is pushing uniform noise
through its inverse CDF; a generator fed u ~ U(0, 1) learns such a map from samples alone, and
its samples' empirical CDF is compared with the target's (Kolmogorov-Smirnov distance).
"""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import nn
from .._backend import array_module
from .._random import generator
from ..autograd import Tensor, no_grad

__all__ = ["MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator", "discriminator_loss",
           "generator_loss", "gan_step", "ema_update", "sample_noise", "train_gan_1d", "ks_distance", "SampleScorer",
           "GAN_LOSSES"]

GAN_LOSSES = ("non_saturating", "minimax")


def sample_noise(n, latent, like, rng=None):
    """z (n, latent) ~ N(0, I) as an array on the device and of the dtype of the array ``like``."""
    rng = generator() if rng is None else rng
    return array_module(like).asarray(rng.standard_normal((int(n), int(latent))), dtype=like.dtype)


class MLPGenerator(nn.Module):
    """z (N, latent) -> Linear-LeakyReLU(0.2) per hidden width -> Linear -> tanh -> (N, *image_shape)."""

    def __init__(self, latent=64, hidden=(256, 512), image_shape=(1, 28, 28), dtype=None):
        super().__init__()
        self.latent, self.image_shape = int(latent), tuple(image_shape)
        sizes = [self.latent, *hidden, int(np.prod(self.image_shape))]
        layers = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b, dtype=dtype), nn.LeakyReLU(0.2)]
        layers.append(nn.Linear(sizes[-2], sizes[-1], dtype=dtype))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return F.tanh(self.net(z)).reshape(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """(N, *image_shape) -> Flatten -> Linear-LeakyReLU(0.2) per hidden width -> Linear -> (N, 1) logits."""

    def __init__(self, hidden=(512, 256), image_shape=(1, 28, 28), dtype=None):
        super().__init__()
        sizes = [int(np.prod(image_shape)), *hidden, 1]
        layers = [nn.Flatten()]
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b, dtype=dtype), nn.LeakyReLU(0.2)]
        layers.append(nn.Linear(sizes[-2], 1, dtype=dtype))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def _dcgan_init(module):
    """DCGAN's initialization: conv weights N(0, 0.02²), batch-norm scales N(1, 0.02²), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """DCGAN generator for (C, 28, 28) images:

        z (N, latent) -> Linear -> (N, 2*ngf, 7, 7) -> BN - ReLU
          -> convT4x4/2 (2ngf->ngf) 14x14 - BN - ReLU -> convT4x4/2 (ngf->C) 28x28 - tanh
    """

    def __init__(self, latent=64, ngf=32, channels=1, dtype=None):
        super().__init__()
        self.latent, self.ngf = int(latent), int(ngf)
        self.fc = nn.Linear(self.latent, 2 * ngf * 49, bias=False, dtype=dtype)
        self.bn0 = nn.BatchNorm2d(2 * ngf)
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * ngf, ngf, 4, stride=2, padding=1, bias=False, dtype=dtype), nn.BatchNorm2d(ngf),
            nn.ReLU(), nn.ConvTranspose2d(ngf, channels, 4, stride=2, padding=1, dtype=dtype))
        if dtype is not None:
            self._cast_floats(np.dtype(dtype))
        _dcgan_init(self)

    def forward(self, z):
        h = self.fc(z).reshape(z.shape[0], 2 * self.ngf, 7, 7)
        return F.tanh(self.net(F.relu(self.bn0(h))))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for (C, 28, 28) images:

        conv4x4/2 (C->ndf) 14x14 - LeakyReLU(0.2) - conv4x4/2 (ndf->2ndf) 7x7 - BN - LeakyReLU(0.2)
          - Flatten - Linear(2ndf*49 -> 1) logits
    """

    def __init__(self, ndf=32, channels=1, dtype=None):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, stride=2, padding=1, dtype=dtype), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, 2 * ndf, 4, stride=2, padding=1, bias=False, dtype=dtype), nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * ndf * 49, 1, dtype=dtype))
        if dtype is not None:
            self._cast_floats(np.dtype(dtype))
        _dcgan_init(self)

    def forward(self, x):
        return self.net(x)


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """BCE(D(x), 1 - label_smoothing) + BCE(D(G(z)), 0), each the batch mean."""
    xp = array_module(real_logits.data)
    ones = xp.full(real_logits.shape, 1.0 - label_smoothing, dtype=real_logits.dtype)
    zeros = xp.zeros(fake_logits.shape, dtype=fake_logits.dtype)
    return (F.binary_cross_entropy_with_logits(real_logits, ones)
            + F.binary_cross_entropy_with_logits(fake_logits, zeros))


def generator_loss(fake_logits, kind="non_saturating"):
    """'non_saturating': -mean log D(G(z)) = BCE(D(G(z)), 1); 'minimax': mean log(1 - D(G(z))) =
    -BCE(D(G(z)), 0), the original objective (saturates when D wins)."""
    xp = array_module(fake_logits.data)
    if kind == "non_saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, xp.ones(fake_logits.shape, fake_logits.dtype))
    if kind == "minimax":
        return -F.binary_cross_entropy_with_logits(fake_logits, xp.zeros(fake_logits.shape, fake_logits.dtype))
    raise ValueError(f"generator_loss: kind must be one of {GAN_LOSSES}, got {kind!r}")


def gan_step(G, D, opt_g, opt_d, real, latent, loss="non_saturating", label_smoothing=0.0, rng=None):
    """One alternating update on a batch of real images (an array (N, ...)): a discriminator step
    on real and freshly generated images, then a generator step on new noise through the updated
    D. Returns floats: d_loss, g_loss, d_real and d_fake (mean D(x) and D(G(z)) in the D step)."""
    if loss not in GAN_LOSSES:
        raise ValueError(f"gan_step: loss must be one of {GAN_LOSSES}, got {loss!r}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"gan_step: label_smoothing must be in [0, 0.5), got {label_smoothing}")
    n = real.shape[0]
    fake = G(Tensor(sample_noise(n, latent, real, rng))).detach()
    real_logits, fake_logits = D(Tensor(real)), D(fake)
    d_loss = discriminator_loss(real_logits, fake_logits, label_smoothing)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    fake = G(Tensor(sample_noise(n, latent, real, rng)))
    d_params = list(D.parameters())
    for p in d_params:              # the generator step needs D's input gradient only
        p.requires_grad = False
    try:
        g_loss = generator_loss(D(fake), loss)
    finally:
        for p in d_params:
            p.requires_grad = True
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    sig = lambda t: float(F.sigmoid(t).data.mean())  # noqa: E731
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_real": sig(real_logits), "d_fake": sig(fake_logits)}


def ema_update(average, model, decay=0.999, step=None):
    """One step of an exponential moving average of ``model``'s parameters into ``average`` (a
    module of the same architecture): p_avg <- d * p_avg + (1 - d) * p. With ``step`` (the number
    of updates so far) d = min(decay, (1 + step) / (10 + step)), so the average forgets its random
    start quickly (TensorFlow's ExponentialMovingAverage warm-up). Sampling from the averaged
    generator smooths out the oscillation of GAN training (Yazıcı et al. 2019).

    Buffers (batch-norm statistics) are not averaged: running statistics of the model's weights do
    not fit the averaged weights, so sample from the average with batch statistics (train mode),
    as ``deepkern train gan`` does."""
    if not 0.0 <= decay < 1.0:
        raise ValueError(f"ema_update: decay must be in [0, 1), got {decay}")
    if step is not None:
        decay = min(decay, (1.0 + step) / (10.0 + step))
    for p_avg, p in zip(average.parameters(), model.parameters()):
        if p_avg.shape != p.shape:
            raise ValueError(f"ema_update: parameter shapes differ: {p_avg.shape} and {p.shape}")
        p_avg.data *= decay
        p_avg.data += (1.0 - decay) * p.data


# ---- the 1-D demo --------------------------------------------------------------------------

def _normal_cdf(x, mu, sigma):
    return 0.5 * (1.0 + np.vectorize(math.erf)((x - mu) / (sigma * math.sqrt(2.0))))


TARGETS_1D = {
    # name: (sampler(rng, n), cdf(x))
    "normal": (lambda rng, n: rng.normal(4.0, 1.25, n), lambda x: _normal_cdf(x, 4.0, 1.25)),
    "mixture": (lambda rng, n: np.where(rng.random(n) < 0.5, rng.normal(-2.0, 0.5, n), rng.normal(2.0, 0.5, n)),
                lambda x: 0.5 * _normal_cdf(x, -2.0, 0.5) + 0.5 * _normal_cdf(x, 2.0, 0.5)),
}


def ks_distance(samples, cdf):
    """Kolmogorov-Smirnov distance sup_x |F_n(x) - F(x)| of the samples' empirical CDF from ``cdf``."""
    x = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    n = len(x)
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def train_gan_1d(target="normal", steps=3000, batch_size=128, hidden=32, lr=1e-3, ema=0.99, seed=0, n_eval=5000):
    """Train a small GAN whose generator maps u ~ U(0, 1) to samples of ``target`` ('normal':
    N(4, 1.25²); 'mixture': ½N(-2, 0.5²) + ½N(2, 0.5²)); the generator learns the inverse CDF.
    Samples come from the moving average of the generator's weights (decay ``ema``). Returns
    {'ks_before', 'ks', 'samples', 'target', 'generator'}: the KS distance of ``n_eval``
    generated samples from the target's CDF before and after training."""
    from .. import optim

    if target not in TARGETS_1D:
        raise ValueError(f"train_gan_1d: target must be one of {sorted(TARGETS_1D)}, got {target!r}")
    sampler, cdf = TARGETS_1D[target]
    rng = np.random.default_rng(seed)
    G = nn.Sequential(nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                      nn.Linear(hidden, 1))
    D = nn.Sequential(nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                      nn.Linear(hidden, 1))
    average = nn.Sequential(nn.Linear(1, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                            nn.Linear(hidden, 1))
    average.load_state_dict(G.state_dict())
    opt_g = optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    uniform = lambda n: rng.random((n, 1)).astype(np.float32)  # noqa: E731

    def generate(n):
        return average(Tensor(uniform(n))).data.ravel()

    ks_before = ks_distance(generate(n_eval), cdf)
    for step in range(int(steps)):
        real = Tensor(sampler(rng, batch_size).astype(np.float32).reshape(-1, 1))
        d_loss = discriminator_loss(D(real), D(G(Tensor(uniform(batch_size))).detach()))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = generator_loss(D(G(Tensor(uniform(batch_size)))))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        ema_update(average, G, ema, step)
    samples = generate(n_eval)
    return {"ks_before": ks_before, "ks": ks_distance(samples, cdf), "samples": samples,
            "target": sampler(rng, n_eval), "generator": average}


# ---- judging samples -------------------------------------------------------------------------

class SampleScorer:
    """The classifier score and Fréchet distance of generated images, judged by a trained
    classifier of the same images (a LeNet trained on MNIST for MNIST samples).

    p(y|x) is the classifier's softmax; the features are its penultimate layer (LeNet: the 84
    units before the last Linear). ``reference`` images (the test set) give the feature
    statistics the samples are compared with. Images are (N, 1, 28, 28) pixels in [0, 1] (map
    tanh outputs with (x + 1) / 2), normalized as the classifier was trained: (x - mean) / std.

    ``scorer(images)`` -> {"score": classifier score, "score_std": over ``splits`` parts,
    "frechet": Fréchet distance to the reference}; ``scorer.reference_score`` is the reference
    images' own score (about 9.9 for MNIST's test set with a good LeNet).
    """

    def __init__(self, classifier, reference, mean=0.1307, std=0.3081, batch_size=500, splits=10):
        from ..metrics import feature_statistics

        self.classifier, self.mean, self.std = classifier, float(mean), float(std)
        self.batch_size, self.splits = int(batch_size), int(splits)
        probs, feats = self.outputs(reference)
        self.reference_stats = feature_statistics(feats)
        self.reference_score = self._score(probs)[0]

    def outputs(self, images):
        """(probs (N, classes), penultimate features (N, F)) as float64 NumPy arrays."""
        model = self.classifier
        layers = list(model.classifier)
        device = model.device
        was_training = model.training
        model.eval()
        probs, feats = [], []
        try:
            with no_grad():
                for start in range(0, len(images), self.batch_size):
                    batch = np.asarray(images[start:start + self.batch_size], dtype=np.float32)
                    x = Tensor((batch - np.float32(self.mean)) / np.float32(self.std)).to(device)
                    h = model.features(x)
                    for layer in layers[:-1]:
                        h = layer(h)
                    probs.append(F.softmax(layers[-1](h), axis=1).numpy().astype(np.float64))
                    feats.append(h.numpy().astype(np.float64))
        finally:
            model.train(was_training)
        return np.concatenate(probs), np.concatenate(feats)

    def _score(self, probs):
        from ..metrics import classifier_score
        return classifier_score(probs, splits=min(self.splits, len(probs)))

    def __call__(self, images):
        from ..metrics import feature_statistics, frechet_distance

        probs, feats = self.outputs(images)
        score, spread = self._score(probs)
        return {"score": score, "score_std": spread,
                "frechet": frechet_distance(*feature_statistics(feats), *self.reference_stats)}
