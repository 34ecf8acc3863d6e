"""Elementwise-loss benchmark cases: the smooth L1 / Huber kernel (DQN's TD loss) forward and
forward+backward on a large (4096, 1000) input, where memory bandwidth decides, and on a DQN
batch of 32 TD errors, where per-call overhead decides. PyTorch runs F.huber_loss (with autograd
for the backward, as a training step does). Every implementation allocates its outputs."""
from __future__ import annotations

from . import Case


def _huber(shape, backward):
    def setup(ctx):
        from .. import ops, reference
        x, y = ctx.randn(*shape) * 2, ctx.randn(*shape)
        one = ctx.xp.ones((), dtype=x.dtype)
        if backward:
            def deepkern():
                ops.huber_loss(x, y)
                return ops.huber_loss_backward(one, x, y)

            def ref():
                reference.huber_loss(x, y)
                return reference.huber_loss_backward(one, x, y)
        else:
            deepkern, ref = (lambda: ops.huber_loss(x, y)), (lambda: reference.huber_loss(x, y))
        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            t, ty = ctx.torch, ctx.tensor(y)
            if backward:
                leaf = ctx.tensor(x).clone().requires_grad_()

                def torch_fb():
                    leaf.grad = None
                    t.nn.functional.huber_loss(leaf, ty).backward()
                fns["torch"] = torch_fb
            else:
                tx = ctx.tensor(x)
                fns["torch"] = lambda: t.nn.functional.huber_loss(tx, ty)
        return fns

    n = 1
    for d in shape:
        n *= d
    op = "huber_loss_fwd+bwd" if backward else "huber_loss"
    # forward reads x, y and writes the elementwise loss; backward reads x, y, writes the gradient
    return Case("loss", op, "x".join(map(str, shape)), setup, bytes=4.0 * n * (6 if backward else 3))


def cases():
    return [_huber((4096, 1000), False), _huber((4096, 1000), True), _huber((32,), False), _huber((32,), True)]
