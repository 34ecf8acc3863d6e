"""GEMM benchmark cases: matmul at the target shapes (1024^3, 2048^3, 64x4096x4096), small
and float64 ones, batched matmul, linear and linear_backward. Outputs of matmul and linear
are preallocated for every implementation (``out=``); linear_backward allocates its three
gradients on every call in all implementations."""
from __future__ import annotations

from . import Case


def _matmul(batch, m, n, k, dtype="float32", trans_b=False):
    def setup(ctx):
        from .. import ops
        xp = ctx.xp
        a = ctx.randn(*(() if batch is None else (batch,)), m, k, dtype=dtype)
        b = ctx.randn(*(() if batch is None else (batch,)), *((n, k) if trans_b else (k, n)), dtype=dtype)
        out = xp.empty(a.shape[:-1] + (n,), dtype=dtype)
        bt = xp.swapaxes(b, -1, -2) if trans_b else b
        fns = {"deepkern": lambda: ops.matmul(a, b, trans_b=trans_b, out=out),
               "reference": lambda: xp.matmul(a, bt, out=out)}
        if ctx.torch is not None:
            ta, tb, to = ctx.tensor(a), ctx.tensor(b), ctx.tensor(out)
            tbt = tb.transpose(-1, -2) if trans_b else tb
            fns["torch"] = lambda: ctx.torch.matmul(ta, tbt, out=to)
        return fns

    shape = f"{m}x{n}x{k}" if batch is None else f"{batch}x({m}x{n}x{k})"
    op = "matmul_nt" if trans_b else "matmul"
    return Case("gemm", op, shape, setup, flops=2.0 * (batch or 1) * m * n * k, dtype=dtype, preallocated=True)


def _linear(rows, n_in, n_out, dtype="float32"):
    def setup(ctx):
        from .. import ops
        xp = ctx.xp
        x, w, b = ctx.randn(rows, n_in, dtype=dtype), ctx.randn(n_out, n_in, dtype=dtype), ctx.randn(n_out, dtype=dtype)
        out = xp.empty((rows, n_out), dtype=dtype)

        def reference():
            xp.matmul(x, w.T, out=out)
            return xp.add(out, b, out=out)

        fns = {"deepkern": lambda: ops.linear(x, w, b, out=out), "reference": reference}
        if ctx.torch is not None:
            tx, tw, tb, to = ctx.tensor(x), ctx.tensor(w), ctx.tensor(b), ctx.tensor(out)
            fns["torch"] = lambda: ctx.torch.addmm(tb, tx, tw.T, out=to)
        return fns

    return Case("gemm", "linear", f"{rows}x{n_in}->{n_out}", setup, flops=2.0 * rows * n_in * n_out, dtype=dtype,
                preallocated=True)


def _linear_backward(rows, n_in, n_out, dtype="float32"):
    def setup(ctx):
        from .. import ops
        xp = ctx.xp
        x, w, g = ctx.randn(rows, n_in, dtype=dtype), ctx.randn(n_out, n_in, dtype=dtype), ctx.randn(rows, n_out, dtype=dtype)

        def reference():
            return xp.matmul(g, w), xp.matmul(g.T, x), g.sum(axis=0)

        fns = {"deepkern": lambda: ops.linear_backward(g, x, w), "reference": reference}
        if ctx.torch is not None:
            t = ctx.torch
            tx, tw, tg = ctx.tensor(x), ctx.tensor(w), ctx.tensor(g)
            fns["torch"] = lambda: (t.matmul(tg, tw), t.matmul(tg.T, tx), tg.sum(0))
        return fns

    return Case("gemm", "linear_backward", f"{rows}x{n_in}->{n_out}", setup, flops=4.0 * rows * n_in * n_out,
                dtype=dtype)


def cases():
    return [
        _matmul(None, 1024, 1024, 1024),
        _matmul(None, 2048, 2048, 2048),
        _matmul(None, 64, 4096, 4096),
        _matmul(None, 64, 64, 64),
        _matmul(None, 256, 256, 256),
        _matmul(None, 1000, 1000, 1000, trans_b=True),
        _matmul(None, 1024, 1024, 1024, dtype="float64"),
        _matmul(32, 128, 128, 64),
        _linear(128, 1024, 1024),
        _linear_backward(128, 1024, 1024),
    ]
