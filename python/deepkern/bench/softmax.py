"""Softmax and cross-entropy benchmark cases: softmax / log_softmax forward, softmax
forward+backward, softmax along a middle axis, cross-entropy forward and forward+backward, at
the classifier-head shape (4096, 1000). PyTorch runs its op-level kernels (torch.softmax and
torch._softmax_backward_data; F.cross_entropy with autograd for the backward, which is what a
training step runs). Every implementation allocates its outputs on every call."""
from __future__ import annotations

from . import Case

ROWS, CLASSES = 4096, 1000
NBYTES = 4 * ROWS * CLASSES


def _softmax(log):
    def setup(ctx):
        from .. import ops, reference
        x = ctx.randn(ROWS, CLASSES)
        fwd, ref = (ops.log_softmax, reference.log_softmax) if log else (ops.softmax, reference.softmax)
        fns = {"deepkern": lambda: fwd(x), "reference": lambda: ref(x)}
        if ctx.torch is not None:
            t, tx = ctx.torch, ctx.tensor(x)
            fns["torch"] = (lambda: t.log_softmax(tx, -1)) if log else (lambda: t.softmax(tx, -1))
        return fns

    return Case("softmax", "log_softmax" if log else "softmax", f"{ROWS}x{CLASSES}", setup, bytes=2 * NBYTES)


def _softmax_middle_axis(shape=(32, 1000, 128)):
    def setup(ctx):
        from .. import ops, reference
        x = ctx.randn(*shape)
        fns = {"deepkern": lambda: ops.softmax(x, axis=1), "reference": lambda: reference.softmax(x, axis=1)}
        if ctx.torch is not None:
            t, tx = ctx.torch, ctx.tensor(x)
            fns["torch"] = lambda: t.softmax(tx, 1)
        return fns

    n = shape[0] * shape[1] * shape[2]
    return Case("softmax", "softmax_axis1", "x".join(map(str, shape)), setup, bytes=8.0 * n)


def _softmax_forward_backward():
    def setup(ctx):
        from .. import ops, reference
        x, g = ctx.randn(ROWS, CLASSES), ctx.randn(ROWS, CLASSES)
        fns = {"deepkern": lambda: ops.softmax_backward(g, ops.softmax(x)),
               "reference": lambda: reference.softmax_backward(g, reference.softmax(x))}
        if ctx.torch is not None:
            t, tx, tg = ctx.torch, ctx.tensor(x), ctx.tensor(g)
            fns["torch"] = lambda: t._softmax_backward_data(tg, t.softmax(tx, -1), -1, tx.dtype)
        return fns

    return Case("softmax", "softmax_fwd+bwd", f"{ROWS}x{CLASSES}", setup, bytes=5 * NBYTES)


def _cross_entropy(backward):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        x = ctx.randn(ROWS, CLASSES)
        target = xp.asarray(ctx.rng.integers(0, CLASSES, ROWS))
        one = xp.ones((), dtype=x.dtype)
        if backward:
            def deepkern():
                _, row_max, row_logsum = ops.cross_entropy_forward(x, target)
                return ops.cross_entropy_backward(one, x, target, row_max, row_logsum)

            def ref():
                _, row_max, row_logsum = reference.cross_entropy_forward(x, target)
                return reference.cross_entropy_backward(one, x, target, row_max, row_logsum)
        else:
            deepkern, ref = (lambda: ops.cross_entropy(x, target)), (lambda: reference.cross_entropy(x, target))
        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            t = ctx.torch
            tt = ctx.tensor(target)
            if backward:
                leaf = ctx.tensor(x).clone().requires_grad_()

                def torch_fb():
                    leaf.grad = None
                    t.nn.functional.cross_entropy(leaf, tt).backward()
                fns["torch"] = torch_fb
            else:
                tx = ctx.tensor(x)
                fns["torch"] = lambda: t.nn.functional.cross_entropy(tx, tt)
        return fns

    op = "cross_entropy_fwd+bwd" if backward else "cross_entropy"
    return Case("softmax", op, f"{ROWS}x{CLASSES}", setup, bytes=(3 if backward else 1) * NBYTES)


def cases():
    return [_softmax(False), _softmax(True), _softmax_forward_backward(), _softmax_middle_axis(),
            _cross_entropy(False), _cross_entropy(True)]
