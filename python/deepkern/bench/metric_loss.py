"""Metric-loss benchmark cases: the batch triplet loss with in-batch mining (batch hard,
FaceNet semi-hard, batch all) forward+backward on a P x K batch of embeddings, and the
contrastive loss forward+backward.

PyTorch has no mining loss, so the "torch" column is the usual PyTorch implementation, written
here the way metric-learning code writes it: ``torch.cdist`` of the batch, boolean masks of
same / different identities, then max/min over the masked matrix (batch hard), the (N, N, N)
cost tensor (batch all) or masked minima over (a, p, n) (semi-hard, TensorFlow Addons'
algorithm), ``relu`` and a mean, with autograd for the backward. The reference column is
deepkern.reference (NumPy). Outputs are allocated on every call."""
from __future__ import annotations

import numpy as np

from . import Case

MARGIN = 0.2


def _torch_triplet(t, e, labels, mining):
    d = t.cdist(e, e)
    same = labels[:, None] == labels[None, :]
    eye = t.eye(len(labels), dtype=t.bool, device=e.device)
    pos, neg = same & ~eye, ~same
    if mining == "hard":
        hardest_pos = t.where(pos, d, t.zeros_like(d)).amax(1)
        hardest_neg = t.where(neg, d, t.full_like(d, float("inf"))).amin(1)
        return t.relu(MARGIN + hardest_pos - hardest_neg).mean()
    if mining == "all":
        cost = MARGIN + d[:, :, None] - d[:, None, :]
        valid = pos[:, :, None] & neg[:, None, :]
        losses = t.relu(cost) * valid
        return losses.sum() / (losses > 0).sum().clamp(min=1)
    d_ap, d_an = d[:, :, None], d[:, None, :]
    outside = neg[:, None, :] & (d_an > d_ap)
    nearest_outside = t.where(outside, d_an.expand_as(outside), t.full_like(outside, float("inf"), dtype=d.dtype))
    nearest_outside = nearest_outside.amin(2)
    farthest = t.where(neg, d, t.full_like(d, -float("inf"))).amax(1, keepdim=True).expand_as(d)
    semi = t.where(outside.any(2), nearest_outside, farthest)
    return t.relu(MARGIN + d - semi)[pos].mean()


def _triplet(P, K, D, mining):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        N = P * K
        e = ctx.randn(N, D)
        e /= xp.linalg.norm(e, axis=1, keepdims=True)
        labels = xp.asarray(np.repeat(np.arange(P), K))
        one = xp.ones((), dtype=e.dtype)

        def deepkern():
            loss, dist, count = ops.batch_triplet_loss_forward(e, labels, MARGIN, mining)
            return ops.batch_triplet_loss_backward(one, e, labels, dist, count, MARGIN, mining)

        def ref():
            loss, dist, count = reference.batch_triplet_loss_forward(e, labels, MARGIN, mining)
            return reference.batch_triplet_loss_backward(one, e, labels, dist, count, MARGIN, mining)

        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            t = ctx.torch
            leaf = ctx.tensor(e).clone().requires_grad_()
            tl = ctx.tensor(labels)

            def torch_fb():
                leaf.grad = None
                _torch_triplet(t, leaf, tl, mining).backward()
            fns["torch"] = torch_fb
        return fns

    return Case("metric_loss", f"triplet_{mining}_fwd+bwd", f"{P}x{K}x{D}", setup, flops=3 * 2.0 * (P * K) ** 2 * D)


def _contrastive(N, D):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        x1, x2 = ctx.randn(N, D), ctx.randn(N, D)
        target = xp.asarray((ctx.rng.random(N) < 0.5).astype(np.float32))
        one = xp.ones((), dtype=x1.dtype)

        def deepkern():
            loss, dist = ops.contrastive_loss_forward(x1, x2, target, 1.0)
            return ops.contrastive_loss_backward(one, x1, x2, target, dist, 1.0)

        def ref():
            loss, dist = reference.contrastive_loss_forward(x1, x2, target, 1.0)
            return reference.contrastive_loss_backward(one, x1, x2, target, dist, 1.0)

        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            t = ctx.torch
            l1, l2 = ctx.tensor(x1).clone().requires_grad_(), ctx.tensor(x2).clone().requires_grad_()
            tt = ctx.tensor(target)

            def torch_fb():
                l1.grad = l2.grad = None
                d = (l1 - l2).pow(2).sum(1).sqrt()
                (0.5 * (tt * d ** 2 + (1 - tt) * t.relu(1.0 - d) ** 2)).mean().backward()
            fns["torch"] = torch_fb
        return fns

    return Case("metric_loss", "contrastive_fwd+bwd", f"{N}x{D}", setup, bytes=4.0 * 5 * N * D)


def cases():
    return [_triplet(64, 4, 128, "hard"), _triplet(64, 4, 128, "semihard"), _triplet(64, 4, 128, "all"),
            _triplet(16, 8, 64, "hard"), _contrastive(16384, 128)]
