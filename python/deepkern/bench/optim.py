"""Optimizer-step benchmark cases: one fused update of a 10M-element float32 parameter (a
mid-sized model as one flat tensor) and of a 100k one, for Adam and SGD with momentum.
deepkern runs its fused kernel; the reference is deepkern.reference's NumPy version of the
same update (PyTorch's eager single-tensor formulas: ~10 passes over memory with temporaries);
PyTorch runs torch.optim with ``fused=True`` where this PyTorch supports it on the device,
else its default implementation. Everything updates in place (nothing to preallocate); the
byte count is the minimum traffic: every array read once and every updated array written once."""
from __future__ import annotations

from . import Case


def _torch_optimizer(torch, cls, params, **opts):
    try:
        return cls(params, fused=True, **opts)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, **opts)


def _adam(n, dtype="float32"):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        p, g = ctx.randn(n, dtype=dtype), ctx.randn(n, dtype=dtype)
        m, v = xp.zeros(n, dtype=dtype), xp.zeros(n, dtype=dtype)
        opts = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8)
        steps = {"deepkern": 0}

        def deepkern():
            steps["deepkern"] += 1
            ops.adam_step(p, g, m, v, step=steps["deepkern"], **opts)

        fns = {"deepkern": deepkern}
        if ctx.device == "cpu":
            rp, rm, rv = p.copy(), m.copy(), v.copy()
            fns["reference"] = lambda: reference.adam_step(rp, g, rm, rv, step=1, **opts)
        if ctx.torch is not None:
            tp = ctx.torch.nn.Parameter(ctx.tensor(p.copy()))
            tp.grad = ctx.tensor(g)
            opt = _torch_optimizer(ctx.torch, ctx.torch.optim.Adam, [tp], lr=1e-3)
            fns["torch"] = opt.step
        return fns

    itemsize = 4 if dtype == "float32" else 8
    return Case("optim", "adam_step", f"n={n}", setup, bytes=7.0 * n * itemsize, dtype=dtype)


def _sgd_momentum(n, dtype="float32"):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        p, g, buf = ctx.randn(n, dtype=dtype), ctx.randn(n, dtype=dtype), xp.zeros(n, dtype=dtype)
        opts = dict(lr=1e-3, momentum=0.9, weight_decay=1e-4)
        fns = {"deepkern": lambda: ops.sgd_step(p, g, buf, **opts)}
        if ctx.device == "cpu":
            rp, rb = p.copy(), buf.copy()
            fns["reference"] = lambda: reference.sgd_step(rp, g, rb, **opts)
        if ctx.torch is not None:
            tp = ctx.torch.nn.Parameter(ctx.tensor(p.copy()))
            tp.grad = ctx.tensor(g)
            opt = _torch_optimizer(ctx.torch, ctx.torch.optim.SGD, [tp], **opts)
            fns["torch"] = opt.step
        return fns

    itemsize = 4 if dtype == "float32" else 8
    return Case("optim", "sgd_step", f"momentum,n={n}", setup, bytes=5.0 * n * itemsize, dtype=dtype)


def cases():
    return [_adam(10_000_000), _adam(100_000), _sgd_momentum(10_000_000), _sgd_momentum(100_000)]
