"""Pooling benchmark cases on ResNet's stem activation (8, 64, 112, 112) float32, NCHW:
max pooling 3x3 / stride 2 / padding 1 with and without argmax indices, 2x2 average pooling
and global average pooling. Rates are input + output bytes per second; outputs are
allocated on every call by every implementation."""
from __future__ import annotations

from . import Case

SHAPE = (8, 64, 112, 112)


def _case(op, out_hw, ours, ref, theirs, index_bytes=0):
    n, c, h, w = SHAPE
    nbytes = 4.0 * n * c * (h * w + out_hw[0] * out_hw[1]) + index_bytes * n * c * out_hw[0] * out_hw[1]

    def setup(ctx):
        from .. import ops, reference
        x = ctx.randn(*SHAPE)
        fns = {"deepkern": lambda: ours(ops, x)}
        if ctx.device == "cpu":
            fns["reference"] = lambda: ref(reference, x)
        if ctx.torch is not None:
            t = ctx.torch
            tx = ctx.tensor(x)

            def torch_fn():
                with t.no_grad():
                    return theirs(t.nn.functional, tx)
            fns["torch"] = torch_fn
        return fns

    return Case("pool", op, "x" + "x".join(map(str, SHAPE)), setup, bytes=nbytes)


def cases():
    return [
        _case("max_pool2d_3x3s2p1", (56, 56), lambda m, x: m.max_pool2d(x, 3, 2, 1),
              lambda m, x: m.max_pool2d(x, 3, 2, 1), lambda F, x: F.max_pool2d(x, 3, 2, 1)),
        _case("max_pool2d_with_indices_3x3s2p1", (56, 56), lambda m, x: m.max_pool2d_with_indices(x, 3, 2, 1),
              lambda m, x: m.max_pool2d_with_indices(x, 3, 2, 1),
              lambda F, x: F.max_pool2d(x, 3, 2, 1, return_indices=True), index_bytes=8),
        _case("avg_pool2d_2x2", (56, 56), lambda m, x: m.avg_pool2d(x, 2), lambda m, x: m.avg_pool2d(x, 2),
              lambda F, x: F.avg_pool2d(x, 2)),
        _case("adaptive_avg_pool2d_1", (1, 1), lambda m, x: m.adaptive_avg_pool2d(x, 1),
              lambda m, x: m.adaptive_avg_pool2d(x, 1), lambda F, x: F.adaptive_avg_pool2d(x, 1)),
    ]
