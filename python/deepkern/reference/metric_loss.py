"""Pure-NumPy metric-learning losses: the ground truth for deepkern.ops.metric_loss (same names
and signatures). The mining is written with whole-matrix masks and argmax/argmin (first index
on ties), independently of the kernel's per-anchor loops."""
import numpy as np

from .distance import cdist, cdist_backward


def _masks(labels):
    same = labels[:, None] == labels[None, :]
    pos = same & ~np.eye(len(labels), dtype=bool)
    return pos, ~same


def _picked(dist, labels, margin, mining):
    """Chosen triplets as index arrays (a, p, n) and their costs margin + d(a,p) - d(a,n),
    plus the per-anchor count of the loss's denominator (before the 'all' rule)."""
    pos, neg = _masks(labels)
    N = len(labels)
    rows = np.arange(N)
    if mining == "hard":
        p = np.argmax(np.where(pos, dist, -np.inf), axis=1)
        n = np.argmin(np.where(neg, dist, np.inf), axis=1)
        valid = pos.any(1) & neg.any(1)
        a, p, n = rows[valid], p[valid], n[valid]
        return a, p, n, valid.astype(np.int64)
    if mining == "semihard":
        a, p = np.nonzero(pos & neg.any(1)[:, None])
        d_ap = dist[a, p]
        d_an = dist[a]                                          # (pairs, N)
        outside = neg[a] & (d_an > d_ap[:, None])
        nearest_outside = np.argmin(np.where(outside, d_an, np.inf), axis=1)
        farthest = np.argmax(np.where(neg[a], d_an, -np.inf), axis=1)
        n = np.where(outside.any(1), nearest_outside, farthest)
        return a, p, n, np.bincount(a, minlength=N).astype(np.int64)
    if mining == "all":
        a, p, n = np.nonzero(pos[:, :, None] & neg[:, None, :])
        return a, p, n, None
    raise ValueError(f"triplet_mining: unknown mining {mining!r}")


def triplet_mining(dist, labels, margin=1.0, mining="hard"):
    a, p, n, count = _picked(dist, labels, margin, mining)
    cost = margin + dist[a, p] - dist[a, n]
    active = cost > 0
    row_loss = np.zeros(len(labels), dist.dtype)
    np.add.at(row_loss, a, np.where(active | np.isnan(cost), cost, 0))
    if count is None:
        count = np.bincount(a[active], minlength=len(labels)).astype(np.int64)
    return row_loss, count


def triplet_mining_backward(scale, dist, labels, margin=1.0, mining="hard"):
    a, p, n, _ = _picked(dist, labels, margin, mining)
    active = margin + dist[a, p] - dist[a, n] > 0
    grad = np.zeros_like(dist)
    s = np.asarray(scale, dist.dtype).reshape(())
    np.add.at(grad, (a[active], p[active]), s)
    np.add.at(grad, (a[active], n[active]), -s)
    return grad


def batch_triplet_loss_forward(embeddings, labels, margin=1.0, mining="hard", squared=False):
    dist = cdist(embeddings, embeddings, squared=squared)
    row_loss, row_count = triplet_mining(dist, labels, margin, mining)
    count = row_count.sum()
    return row_loss.sum() / max(count, 1), dist, np.asarray(count)


def batch_triplet_loss(embeddings, labels, margin=1.0, mining="hard", squared=False):
    return batch_triplet_loss_forward(embeddings, labels, margin, mining, squared)[0]


def batch_triplet_loss_backward(grad_out, embeddings, labels, dist, count, margin=1.0, mining="hard", squared=False):
    scale = np.asarray(grad_out).reshape(()) / max(int(count), 1)
    grad_dist = triplet_mining_backward(scale, dist, labels, margin, mining)
    g1, g2 = cdist_backward(grad_dist, embeddings, embeddings, dist, squared=squared)
    return g1 + g2


def _reduce(rows, reduction):
    if reduction == "none":
        return rows
    return rows.sum() if reduction == "sum" else rows.sum() / len(rows)


def contrastive_loss_forward(x1, x2, target, margin=1.0, reduction="mean"):
    dist = np.sqrt(((x1 - x2) ** 2).sum(-1))
    with np.errstate(invalid="ignore"):
        hinge = np.maximum(margin - dist, 0)
        # a term its target switches off is 0, not 0 * inf; a NaN distance stays NaN
        same = np.where(target != 0, target * dist ** 2, 0)
        different = np.where(target != 1, (1 - target) * hinge ** 2, 0)
        rows = np.where(np.isnan(dist), dist, 0.5 * (same + different))
    return _reduce(rows, reduction), dist


def contrastive_loss(x1, x2, target, margin=1.0, reduction="mean"):
    return contrastive_loss_forward(x1, x2, target, margin, reduction)[0]


def contrastive_loss_backward(grad_out, x1, x2, target, dist, margin=1.0, reduction="mean"):
    g = np.broadcast_to(grad_out / max(len(x1), 1) if reduction == "mean" else grad_out, dist.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        hinge = np.where((dist < margin) & (dist > 0), (1 - target) * (margin - dist) / dist, 0)
        c = np.where(np.isnan(dist), dist, g * (target - hinge))[:, None]
        g1 = np.where(c == 0, 0, c * (x1 - x2))  # 0, not 0 * inf, where the loss is flat
    return g1, -g1
