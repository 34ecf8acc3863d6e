"""Embedding benchmark cases: the forward gather into a preallocated output (a word-LM batch
of 64 x 128 ids into a 50k x 512 table) and the backward scatter-add (64 x 128 ids, 10k x 256
table; every implementation allocates and zeroes its (V, D) gradient on each call)."""
from __future__ import annotations

from . import Case


def _forward(V, D, B, T, dtype="float32"):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        weight = ctx.randn(V, D, dtype=dtype)
        ids = xp.asarray(ctx.rng.integers(0, V, size=(B, T)))
        out = xp.empty((B, T, D), dtype=dtype)
        fns = {"deepkern": lambda: ops.embedding(weight, ids, out=out)}
        if ctx.device == "cpu":
            fns["reference"] = lambda: reference.embedding(weight, ids)
        else:
            fns["reference"] = lambda: xp.take(weight, ids, axis=0, out=out)
        if ctx.torch is not None:
            tw, ti, to = ctx.tensor(weight), ctx.tensor(ids), ctx.tensor(out)
            fns["torch"] = lambda: ctx.torch.index_select(tw, 0, ti.reshape(-1), out=to.reshape(-1, D))
        return fns

    itemsize = 4 if dtype == "float32" else 8
    return Case("embedding", "embedding", f"V={V},D={D},ids={B}x{T}", setup, bytes=2.0 * B * T * D * itemsize,
                dtype=dtype, preallocated=True)


def _backward(V, D, B, T, dtype="float32"):
    def setup(ctx):
        from .. import ops, reference
        xp = ctx.xp
        grad_out = ctx.randn(B, T, D, dtype=dtype)
        ids = xp.asarray(ctx.rng.integers(0, V, size=(B, T)))
        fns = {"deepkern": lambda: ops.embedding_backward(grad_out, ids, V)}
        if ctx.device == "cpu":
            fns["reference"] = lambda: reference.embedding_backward(grad_out, ids, V)
        if ctx.torch is not None:
            tg, ti = ctx.tensor(grad_out), ctx.tensor(ids)
            fns["torch"] = lambda: ctx.torch.ops.aten.embedding_dense_backward(tg, ti, V, -1, False)
        return fns

    itemsize = 4 if dtype == "float32" else 8
    return Case("embedding", "embedding_backward", f"V={V},D={D},ids={B}x{T}", setup,
                bytes=(B * T * D + V * D) * itemsize, dtype=dtype)


def cases():
    return [_forward(50000, 512, 64, 128), _forward(1000, 64, 32, 32), _backward(10000, 256, 64, 128),
            _backward(100, 256, 64, 128)]
