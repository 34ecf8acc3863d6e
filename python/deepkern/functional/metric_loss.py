"""Differentiable metric-learning losses.

- ``triplet_margin_loss(anchor, positive, negative, ...)``: PyTorch's F.triplet_margin_loss for
  triplets given by the caller, max(0, margin + d(a, p) - d(a, n)) with pairwise_distance.
- ``batch_triplet_loss(embeddings, labels, margin, mining, squared)``: the triplets mined inside
  the batch by the fused kernel ('hard', 'semihard', 'all'; see deepkern.ops.metric_loss), or
  drawn at random ('random': one random positive and one random negative per anchor, the
  baseline that shows why mining matters: most random triplets already meet the margin).
- ``contrastive_loss(x1, x2, target, margin)``: Hadsell et al.'s loss of labelled pairs.
"""
from __future__ import annotations

import numpy as np

from .. import _checks, _random, ops
from .._backend import array_module, is_cupy_array
from ..autograd import Function, Tensor
from . import basic
from .distance import cdist, pairwise_distance

MINING = ("random",) + ops.metric_loss.MINING


class BatchTripletLoss(Function):
    def forward(self, embeddings, labels, margin=1.0, mining="hard", squared=False):
        loss, dist, count = ops.batch_triplet_loss_forward(embeddings, labels, margin, mining, squared)
        self.save_for_backward(embeddings, labels, dist, count)
        self.options = (margin, mining, squared)
        return loss

    def backward(self, grad):
        embeddings, labels, dist, count = self.saved
        return ops.batch_triplet_loss_backward(grad, embeddings, labels, dist, count, *self.options), None


class ContrastiveLoss(Function):
    def forward(self, x1, x2, target, margin=1.0, reduction="mean"):
        loss, dist = ops.contrastive_loss_forward(x1, x2, target, margin, reduction)
        self.save_for_backward(x1, x2, target, dist)
        self.options = (margin, reduction)
        return loss

    def backward(self, grad):
        x1, x2, target, dist = self.saved
        grad = array_module(x1).asarray(grad, dtype=x1.dtype)  # NumPy hands 0-d results back as scalars
        g1, g2 = ops.contrastive_loss_backward(grad, x1, x2, target, dist, *self.options)
        return g1, g2, None


def _array(v):
    return v.data if isinstance(v, Tensor) else v


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return basic.mean(loss)
    if reduction == "sum":
        return basic.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) for given triplets (N, D) (or (D,)), with
    d = pairwise_distance(., ., p, eps); ``swap`` uses min(d(a, n), d(p, n)) as the negative
    distance (Balntas et al. 2016). PyTorch's F.triplet_margin_loss."""
    op = "triplet_margin_loss"
    dims = {t.ndim for t in (anchor, positive, negative)}
    if len(dims) != 1 or not dims <= {1, 2}:
        raise ValueError(f"{op}: anchor, positive and negative must all be (N, D) or all (D,), got shapes "
                         f"{anchor.shape}, {positive.shape} and {negative.shape}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = basic.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(basic.clamp(margin + d_pos - d_neg, min=0.0), reduction, op)


def _random_triplets(labels, rng):
    """One random positive and negative per anchor that has both: (anchors, positives, negatives)."""
    same = labels[:, None] == labels[None, :]
    pos = same & ~np.eye(len(labels), dtype=bool)
    valid = pos.any(1) & (~same).any(1)
    a = np.flatnonzero(valid)
    p = np.array([rng.choice(np.flatnonzero(pos[i])) for i in a], dtype=np.int64)
    n = np.array([rng.choice(np.flatnonzero(~same[i])) for i in a], dtype=np.int64)
    return a, p, n


def batch_triplet_loss(embeddings, labels, margin=1.0, mining="hard", squared=False, generator=None):
    """Triplet loss over triplets chosen inside the batch: embeddings (N, D), labels (N,)
    identity ids; a 0-d Tensor. ``mining``: 'hard', 'semihard', 'all' (mined by the fused
    kernel) or 'random' (drawn from ``generator``, default deepkern's seeded generator)."""
    op = "batch_triplet_loss"
    if mining not in MINING:
        raise ValueError(f"{op}: mining must be one of {', '.join(map(repr, MINING))}, got {mining!r}")
    labels = _array(labels)
    if mining != "random":
        return BatchTripletLoss.apply(embeddings, labels, margin=margin, mining=mining, squared=squared)
    # The same checks as the kernel path, then cdist + gathered entries + hinge by autograd.
    xp, _, labels_dev = ops.metric_loss.check_triplet_batch(op, _array(embeddings), labels)
    margin = _checks.real(op, "margin", margin, low=0.0)
    host = labels_dev.get() if is_cupy_array(labels_dev) else labels_dev
    a, p, n = _random_triplets(host, generator if generator is not None else _random.generator())
    dist = cdist(embeddings, embeddings, squared=squared)
    if xp is not np:
        a, p, n = xp.asarray(a), xp.asarray(p), xp.asarray(n)
    return basic.mean(basic.clamp(margin + dist[a, p] - dist[a, n], min=0.0))


def contrastive_loss(x1, x2, target, margin=1.0, reduction="mean"):
    """(t d^2 + (1 - t) max(0, margin - d)^2) / 2 per pair (x1[i], x2[i]) (N, D), d their
    Euclidean distance, target t = 1 for the same identity and 0 for different ones."""
    return ContrastiveLoss.apply(x1, x2, _array(target), margin=margin, reduction=reduction)
