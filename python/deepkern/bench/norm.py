"""Batch-norm benchmark cases: training-mode forward and forward+backward on a ResNet-stage
activation (8, 64, 56, 56), and eval-mode forward. PyTorch runs aten.native_batch_norm and
native_batch_norm_backward, the kernels under nn.BatchNorm2d. Outputs are allocated on every
call by every implementation; running statistics are updated in place by all three."""
from __future__ import annotations

from . import Case

SHAPE = (8, 64, 56, 56)


def _batch_norm(training, backward):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        c = SHAPE[1]
        x, g = ctx.randn(*SHAPE), ctx.randn(*SHAPE)
        w, b = xp.ones(c, dtype=x.dtype), xp.zeros(c, dtype=x.dtype)
        rm, rv = xp.zeros(c, dtype=x.dtype), xp.ones(c, dtype=x.dtype)

        def deepkern():
            y, mean, invstd = ops.batch_norm(x, rm, rv, w, b, training)
            return ops.batch_norm_backward(g, x, w, mean, invstd, training) if backward else y

        def ref():
            y, mean, invstd = reference.batch_norm(x, rm, rv, w, b, training)
            return reference.batch_norm_backward(g, x, w, mean, invstd, training) if backward else y

        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            aten = ctx.torch.ops.aten
            tx, tg, tw, tb = ctx.tensor(x), ctx.tensor(g), ctx.tensor(w), ctx.tensor(b)
            trm, trv = ctx.tensor(rm), ctx.tensor(rv)

            def torch_fn():
                y, mean, invstd = aten.native_batch_norm(tx, tw, tb, trm, trv, training, 0.1, 1e-5)
                if not backward:
                    return y
                return aten.native_batch_norm_backward(tg, tx, tw, trm, trv, mean, invstd, training, 1e-5,
                                                       [True, True, True])
            fns["torch"] = torch_fn
        return fns

    n = 1
    for s in SHAPE:
        n *= s
    op = "batch_norm_" + ("train" if training else "eval") + ("_fwd+bwd" if backward else "")
    return Case("norm", op, "x".join(map(str, SHAPE)), setup, bytes=4.0 * n * (5 if backward else 2))


def cases():
    return [_batch_norm(True, False), _batch_norm(True, True), _batch_norm(False, False)]
