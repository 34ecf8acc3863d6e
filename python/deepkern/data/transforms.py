"""Data augmentation and preprocessing on NumPy images, one sample or a whole batch at once.

Layouts: a 4-D array is a batch (N, C, H, W); a 3-D array one image (C, H, W); a 2-D array one
image (H, W). Random transforms draw independently for every image of a batch (each image gets
its own crop offset, flip and noise), vectorized over the batch where NumPy allows.

Random draws come from the ``rng`` argument (a ``numpy.random.Generator``); ``DataLoader``
passes its per-epoch generator, so augmentation is reproducible from the loader's seed. Called
without ``rng`` (e.g. inside a dataset's ``transform``) they use deepkern's generator, seeded by
``dk.manual_seed``.

    t = Compose([RandomCrop(28, padding=2), RandomHorizontalFlip(), Normalize(0.1307, 0.3081)])
    xb = t(xb, rng=np.random.default_rng(0))        # (N, 1, 28, 28) -> (N, 1, 28, 28)
"""
from __future__ import annotations

import numpy as np

from .. import _random
from .._checks import pair, real

__all__ = ["Transform", "Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip", "GaussianNoise"]


def _as_batch(name, x):
    """(N, C, H, W) view of x and a function restoring x's own layout."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array, got {type(x).__name__}")
    if x.ndim == 4:
        return x, lambda y: y
    if x.ndim == 3:
        return x[None], lambda y: y[0]
    if x.ndim == 2:
        return x[None, None], lambda y: y[0, 0]
    raise ValueError(f"{name}: expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), "
                     f"got shape {x.shape}")


def _float_array(name, x):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point array, got {x.dtype} "
                        "(datasets give float32 images in [0, 1])")
    return x


class Transform:
    """Base class: ``t(x, rng=None)`` returns the transformed array (x is never modified)."""

    def __call__(self, x, rng=None):
        return self.apply(x, _random.generator() if rng is None else rng)

    def apply(self, x, rng):
        raise NotImplementedError

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Apply transforms in order (plain callables are called with the array only)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got {type(t).__name__}")

    def apply(self, x, rng):
        for t in self.transforms:
            x = t(x, rng=rng) if isinstance(t, Transform) else t(x)
        return x


class Normalize(Transform):
    """(x - mean) / std per channel. ``mean`` and ``std`` are numbers or one value per channel
    (axis -3 of (C, H, W) and (N, C, H, W)); the result has x's float dtype."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(f"Normalize: mean and std must be numbers or 1-D sequences, "
                             f"got shapes {self.mean.shape} and {self.std.shape}")
        if not np.all(self.std > 0):
            raise ValueError(f"Normalize: std must be > 0, got {self.std.tolist()}")

    def apply(self, x, rng):
        x = _float_array("Normalize", x)
        channels = x.shape[-3] if x.ndim >= 3 else 1
        for name, v in (("mean", self.mean), ("std", self.std)):
            if v.size not in (1, channels):
                raise ValueError(f"Normalize: {name} has {v.size} values but x has {channels} channels "
                                 f"(x.shape={x.shape})")
        shape = (-1, 1, 1) if x.ndim >= 3 else (1,) * x.ndim
        mean = self.mean.astype(x.dtype).reshape(shape)
        std = self.std.astype(x.dtype).reshape(shape)
        return (x - mean) / std


class RandomCrop(Transform):
    """Pad H and W by ``padding`` (an int or (pad_h, pad_w)) with ``fill``, then crop a random
    ``size`` (an int or (h, w)) window: random translations by up to ``padding`` pixels."""

    def __init__(self, size, padding=0, fill=0.0):
        self.size = pair("RandomCrop", "size", size, minimum=1)
        self.padding = pair("RandomCrop", "padding", padding, minimum=0)
        self.fill = real("RandomCrop", "fill", fill)

    def apply(self, x, rng):
        xb, restore = _as_batch("RandomCrop", x)
        n, c, h, w = xb.shape
        (th, tw), (ph, pw) = self.size, self.padding
        if th > h + 2 * ph or tw > w + 2 * pw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the padded image "
                             f"({h + 2 * ph}, {w + 2 * pw}) (x.shape={x.shape}, padding={self.padding})")
        if ph or pw:
            xb = np.pad(xb, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=self.fill)
        top = rng.integers(0, xb.shape[2] - th + 1, size=n)
        left = rng.integers(0, xb.shape[3] - tw + 1, size=n)
        out = np.empty((n, c, th, tw), dtype=xb.dtype)
        for k in range(n):
            out[k] = xb[k, :, top[k]:top[k] + th, left[k]:left[k] + tw]
        return restore(out)


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = real("RandomHorizontalFlip", "p", p, 0.0, 1.0)

    def apply(self, x, rng):
        xb, restore = _as_batch("RandomHorizontalFlip", x)
        flip = rng.random(xb.shape[0]) < self.p
        out = xb.copy()
        out[flip] = xb[flip][..., ::-1]
        return restore(out)


class GaussianNoise(Transform):
    """Add independent N(mean, std^2) noise to every element (any shape, float arrays)."""

    def __init__(self, std, mean=0.0):
        self.std = real("GaussianNoise", "std", std, low=0.0)
        self.mean = real("GaussianNoise", "mean", mean)

    def apply(self, x, rng):
        x = _float_array("GaussianNoise", x)
        return x + rng.normal(self.mean, self.std, size=x.shape).astype(x.dtype)
