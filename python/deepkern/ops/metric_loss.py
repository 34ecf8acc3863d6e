"""Metric-learning losses (array in, array out): the batch triplet loss that mines its triplets
inside the batch, and the contrastive loss.

``batch_triplet_loss(embeddings, labels, margin, mining, squared)``: embeddings (N, D) of a
batch holding several samples of several identities, labels (N,) their identity ids. The
distance matrix is one cdist (a GEMM plus norms, exact 0 on the diagonal); a fused kernel then
picks, per anchor a, triplets (a, p, n) with labels[p] == labels[a] (p != a) and labels[n] !=
labels[a], each costing max(0, margin + d(a, p) - d(a, n)):

- ``'hard'`` (batch hard, Hermans et al. 2017): the farthest positive and the nearest negative
  of each anchor; the loss is the mean over anchors that have both.
- ``'semihard'`` (FaceNet, Schroff et al. 2015, as TensorFlow Addons' triplet_semihard_loss):
  for every (a, p) the nearest negative farther than p, or the farthest negative when none is;
  the mean over (a, p) pairs.
- ``'all'`` (batch all): every triplet; the mean over the triplets with a positive cost (0
  when every triplet meets the margin).

``squared=True`` mines and measures on squared Euclidean distances. Ties pick the lowest index.
The loss is a 0-d array; the backward hands d(loss)/d(dist) from the kernel to cdist's backward.

``contrastive_loss(x1, x2, target, margin)`` (Hadsell, Chopra & LeCun 2006): pairs x1[i],
x2[i] (N, D), target[i] = 1 for a matching pair and 0 for a non-matching one,
loss_i = (t d^2 + (1 - t) max(0, margin - d)^2) / 2 with d = ||x1[i] - x2[i]||.
A term its target switches off is 0, not 0 * inf: a non-matching pair at infinite distance
costs 0 and has a zero gradient; a NaN distance gives NaN.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from .._backend import array_module, is_array, is_cupy_array, kernels
from .distance import cdist, cdist_backward
from .loss import REDUCTIONS

MINING = ("all", "hard", "semihard")


def _mining(op, mining):
    if mining not in MINING:
        raise ValueError(f"{op}: mining must be one of {', '.join(map(repr, MINING))}, got {mining!r}")
    return mining


def _margin(op, margin):
    return _checks.real(op, "margin", margin, low=0.0)


def _dist_labels(op, dist, labels):
    xp, (dist,) = _checks.arrays(op, dist=dist)
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"{op}: dist must be a square (N, N) distance matrix, got shape {tuple(dist.shape)}")
    labels = _checks.index_array(op, "labels", labels, xp)
    if tuple(labels.shape) != (dist.shape[0],):
        raise ValueError(f"{op}: labels must have shape ({dist.shape[0]},) to match dist of shape "
                         f"{tuple(dist.shape)}, got {tuple(labels.shape)}")
    return xp, dist, labels


def triplet_mining(dist, labels, margin=1.0, mining="hard"):
    """Mine a distance matrix dist (N, N) with labels (N,): returns (row_loss (N,), row_count
    (N,) int64), the summed costs and the loss's denominator per anchor (see the module doc)."""
    op = "triplet_mining"
    margin, mining = _margin(op, margin), _mining(op, mining)
    xp, dist, labels = _dist_labels(op, dist, labels)
    row_loss = xp.empty(dist.shape[0], dtype=dist.dtype)
    row_count = xp.empty(dist.shape[0], dtype=np.int64)
    kernels(xp).triplet_mining_forward(dist, labels, row_loss, row_count, margin, mining)
    return row_loss, row_count


def triplet_mining_backward(scale, dist, labels, margin=1.0, mining="hard"):
    """d(scale * sum(row_loss)) / d(dist) for triplet_mining's picks: (N, N)."""
    op = "triplet_mining_backward"
    margin, mining = _margin(op, margin), _mining(op, mining)
    xp, dist, labels = _dist_labels(op, dist, labels)
    scale = xp.asarray(scale, dtype=dist.dtype).reshape(1)
    grad = xp.empty_like(dist)
    kernels(xp).triplet_mining_backward(dist, labels, scale, grad, margin, mining)
    return grad


def _embeddings_labels(op, embeddings, labels):
    xp, (embeddings,) = _checks.arrays(op, embeddings=embeddings)
    if embeddings.ndim != 2:
        raise ValueError(f"{op}: embeddings must be 2-D (N, D), got shape {tuple(embeddings.shape)}")
    labels = _checks.index_array(op, "labels", labels, xp)
    n = embeddings.shape[0]
    if tuple(labels.shape) != (n,):
        raise ValueError(f"{op}: labels must have shape ({n},), one identity per embedding "
                         f"(embeddings.shape={tuple(embeddings.shape)}), got {tuple(labels.shape)}")
    return xp, embeddings, labels


def _check_identities(op, labels):
    """Every mining strategy needs an anchor with a positive and a negative."""
    host = labels.get() if is_cupy_array(labels) else labels
    ids, counts = np.unique(host, return_counts=True)
    if len(ids) == 0:
        raise ValueError(f"{op}: the batch is empty (labels.shape=(0,))")
    if len(ids) == 1:
        raise ValueError(f"{op}: every sample in the batch has label {ids[0]}: a triplet needs a negative, "
                         "so a batch needs at least two identities")
    if counts.max() < 2:
        raise ValueError(f"{op}: no two samples in the batch share a label ({len(ids)} identities, one sample "
                         "each): a triplet needs a positive, so a batch needs an identity with at least two "
                         "samples (sample P identities x K images)")


def check_triplet_batch(op, embeddings, labels):
    """(xp, embeddings, labels int64) after checking that labels (N,) match embeddings (N, D)
    and that the batch holds an anchor with a positive and a negative."""
    xp, embeddings, labels = _embeddings_labels(op, embeddings, labels)
    _check_identities(op, labels)
    return xp, embeddings, labels


def batch_triplet_loss_forward(embeddings, labels, margin=1.0, mining="hard", squared=False):
    """The loss (0-d) and what its backward needs: (loss, dist (N, N), count (0-d int64))."""
    op = "batch_triplet_loss"
    margin, mining = _margin(op, margin), _mining(op, mining)
    xp, embeddings, labels = check_triplet_batch(op, embeddings, labels)
    dist = cdist(embeddings, embeddings, squared=bool(squared))
    row_loss, row_count = triplet_mining(dist, labels, margin, mining)
    count = row_count.sum()
    loss = row_loss.sum() / xp.maximum(count, 1).astype(dist.dtype)
    return xp.asarray(loss, dtype=dist.dtype), dist, count


def batch_triplet_loss(embeddings, labels, margin=1.0, mining="hard", squared=False):
    """Triplet loss over the triplets mined inside the batch (see the module doc): 0-d array."""
    return batch_triplet_loss_forward(embeddings, labels, margin, mining, squared)[0]


def batch_triplet_loss_backward(grad_out, embeddings, labels, dist, count, margin=1.0, mining="hard",
                                squared=False):
    """d(grad_out * loss) / d(embeddings), from batch_triplet_loss_forward's dist and count."""
    op = "batch_triplet_loss_backward"
    margin, mining = _margin(op, margin), _mining(op, mining)
    xp, embeddings, labels = _embeddings_labels(op, embeddings, labels)
    scale = xp.asarray(grad_out, dtype=embeddings.dtype).reshape(()) / xp.maximum(xp.asarray(count), 1)
    grad_dist = triplet_mining_backward(scale, dist, labels, margin, mining)
    g1, g2 = cdist_backward(grad_dist, embeddings, embeddings, dist, squared=bool(squared))
    g1 += g2
    return g1


def _pairs(op, x1, x2, target):
    xp, (x1, x2) = _checks.arrays(op, x1=x1, x2=x2)
    if x1.ndim != 2 or x1.shape != x2.shape:
        raise ValueError(f"{op}: x1 and x2 must be (N, D) embeddings of one shape, got {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)}")
    if not is_array(target) or array_module(target) is not xp:
        raise TypeError(f"{op}: target must be a {'NumPy' if xp is np else 'CuPy'} array like x1 "
                        f"(1 = same, 0 = different), got {type(target).__name__}")
    if target.dtype.kind not in "biuf":
        raise TypeError(f"{op}: target must be a boolean, integer or float array, got {target.dtype}")
    if tuple(target.shape) != (x1.shape[0],):
        raise ValueError(f"{op}: target must have shape ({x1.shape[0]},), one per pair (x1.shape="
                         f"{tuple(x1.shape)}), got {tuple(target.shape)}")
    return xp, x1, x2, xp.ascontiguousarray(target, dtype=x1.dtype)


def _reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction


def contrastive_loss_forward(x1, x2, target, margin=1.0, reduction="mean"):
    """(loss, dist): the reduced loss and the pair distances (N,) its backward needs."""
    op = "contrastive_loss"
    margin, reduction = _margin(op, margin), _reduction(op, reduction)
    xp, x1, x2, target = _pairs(op, x1, x2, target)
    rows = xp.empty(x1.shape[0], dtype=x1.dtype)
    dist = xp.empty(x1.shape[0], dtype=x1.dtype)
    kernels(xp).contrastive_loss_forward(x1, x2, target, rows, dist, margin)
    if reduction == "none":
        return rows, dist
    total = rows.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # mean of 0 pairs: nan, as PyTorch
        loss = total if reduction == "sum" else total / x1.dtype.type(x1.shape[0])
    return xp.asarray(loss, dtype=x1.dtype), dist


def contrastive_loss(x1, x2, target, margin=1.0, reduction="mean"):
    """Contrastive loss of pairs (x1[i], x2[i]) with target 1 (same) or 0 (different)."""
    return contrastive_loss_forward(x1, x2, target, margin, reduction)[0]


def contrastive_loss_backward(grad_out, x1, x2, target, dist, margin=1.0, reduction="mean"):
    """(grad_x1, grad_x2) of grad_out * contrastive_loss(...); dist from the forward."""
    op = "contrastive_loss_backward"
    margin, reduction = _margin(op, margin), _reduction(op, reduction)
    xp, x1, x2, target = _pairs(op, x1, x2, target)
    _, (_, grad_out, dist) = _checks.arrays(op, x1=x1, grad_out=grad_out, dist=dist)
    n = x1.shape[0]
    if reduction == "none":
        if tuple(grad_out.shape) != (n,):
            raise ValueError(f"{op}: grad_out must have shape ({n},) for reduction='none', got {tuple(grad_out.shape)}")
        g = grad_out
    else:
        g = grad_out.reshape(()) / x1.dtype.type(max(n, 1)) if reduction == "mean" else grad_out.reshape(())
        g = xp.asarray(g, dtype=x1.dtype)  # 0-d: one value for every pair
    gx1 = xp.empty_like(x1)
    kernels(xp).contrastive_loss_backward(g, x1, x2, target, dist, gx1, margin)
    return gx1, -gx1
