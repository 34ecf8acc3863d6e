"""Differentiable distances and normalization, with PyTorch's names and arguments:
``cdist``, ``pairwise_distance`` (over deepkern.ops.distance) and ``normalize``."""
from __future__ import annotations

import numpy as np

from .. import _checks, ops
from .._backend import array_module
from ..autograd import Function


class Cdist(Function):
    def forward(self, x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary", squared=False):
        out = ops.cdist(x1, x2, p, compute_mode, squared)
        self.save_for_backward(x1, x2, out)
        self.options = (p, compute_mode, squared)
        return out

    def backward(self, grad):
        x1, x2, out = self.saved
        return ops.cdist_backward(grad, x1, x2, out, *self.options)


class PairwiseDistance(Function):
    def forward(self, x1, x2, p=2.0, eps=1e-6, keepdim=False):
        out = ops.pairwise_distance(x1, x2, p, eps, keepdim)
        self.save_for_backward(x1, x2, out)
        self.options = (p, eps, keepdim)
        return out

    def backward(self, grad):
        x1, x2, out = self.saved
        return ops.pairwise_distance_backward(grad, x1, x2, out, *self.options)


class Normalize(Function):
    """y = x / max(||x||_p, eps) along ``axis``."""

    def forward(self, x, p=2.0, axis=1, eps=1e-12):
        xp = array_module(x)
        a = xp.abs(x)
        norm = xp.sqrt((x * x).sum(axis, keepdims=True)) if p == 2 else (a ** p).sum(axis, keepdims=True) ** (1 / p)
        denom = xp.maximum(norm, x.dtype.type(eps))
        y = x / denom
        self.save_for_backward(x, y, norm, denom)
        self.options = (p, axis, eps)
        return y

    def backward(self, g):
        x, y, norm, denom = self.saved
        p, axis, eps = self.options
        xp = array_module(x)
        scaled = norm > eps  # below eps the denominator is the constant eps
        dn = y if p == 2 else xp.sign(x) * (xp.abs(x) / denom) ** (p - 1)  # d||x||/dx (times denom^0)
        return g / denom - xp.where(scaled, (g * y).sum(axis, keepdims=True) * dn / denom, 0)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary", squared=False):
    """Distances between every row of x1 (..., P, M) and of x2 (..., R, M): (..., P, R).
    p = 2 via a GEMM plus norms (0 and a 0 gradient at coincident points); ``squared=True``
    for squared Euclidean distances. See deepkern.ops.cdist."""
    return Cdist.apply(x1, x2, p=p, compute_mode=compute_mode, squared=squared)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim, inputs broadcast: (N, D), (N, D) -> (N,)."""
    return PairwiseDistance.apply(x1, x2, p=p, eps=eps, keepdim=keepdim)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """input / max(||input||_p, eps) along ``dim`` (PyTorch's F.normalize): e.g. embeddings
    (N, D) onto the unit sphere."""
    p = _checks.real("normalize", "p", p, low=0.0)
    if p == 0:
        raise ValueError("normalize: p must be > 0, got 0.0")
    dim = _checks.integer("normalize", "dim", dim)
    if not -input.ndim <= dim < input.ndim:
        raise ValueError(f"normalize: dim {dim} is out of range for input of shape {input.shape}")
    return Normalize.apply(input, p=p, axis=dim % input.ndim, eps=float(np.float64(eps)))
