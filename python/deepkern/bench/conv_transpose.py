"""conv_transpose2d benchmark cases at the generative models' shapes (float32, kernel 4, stride 2,
padding 1: each layer doubles the image side): the MNIST DCGAN generator's two up-sampling layers
(N=64, 128->64, 7x7 -> 14x14; N=64, 64->1, 14x14 -> 28x28) and a 64x64 DCGAN's middle layer
(N=16, 256->128, 16x16 -> 32x32); forward, and forward + backward (grad_x, grad_w, grad_b).
Every implementation allocates its outputs on each call. The NumPy reference (a scatter per
kernel tap with einsum) runs on the CPU only."""
from __future__ import annotations

import numpy as np

from . import Case

SHAPES = {  # name: (x shape, weight shape (C_in, C_out, kH, kW)); stride 2, padding 1
    "dcgan7to14": ((64, 128, 7, 7), (128, 64, 4, 4)),
    "dcgan14to28": ((64, 64, 14, 14), (64, 1, 4, 4)),
    "dcgan16to32": ((16, 256, 16, 16), (256, 128, 4, 4)),
}
GEO = dict(stride=2, padding=1)


def _case(name, backward):
    xs, ws = SHAPES[name]
    Ho, Wo = 2 * xs[2], 2 * xs[3]
    flops = 2.0 * xs[0] * xs[1] * xs[2] * xs[3] * ws[1] * ws[2] * ws[3] * (3 if backward else 1)

    def setup(ctx):
        from .. import ops, reference
        x = ctx.randn(*xs)
        w = ctx.randn(*ws) * np.float32(1 / np.sqrt(np.prod(ws[1:])))
        b = ctx.randn(ws[1])
        g = ctx.randn(xs[0], ws[1], Ho, Wo)
        if backward:
            fns = {"deepkern": lambda: (ops.conv_transpose2d(x, w, b, **GEO),
                                        ops.conv_transpose2d_backward(g, x, w, **GEO))}
            if ctx.device == "cpu":
                fns["reference"] = lambda: (reference.conv_transpose2d(x, w, b, **GEO),
                                            reference.conv_transpose2d_backward(g, x, w, **GEO))
        else:
            fns = {"deepkern": lambda: ops.conv_transpose2d(x, w, b, **GEO)}
            if ctx.device == "cpu":
                fns["reference"] = lambda: reference.conv_transpose2d(x, w, b, **GEO)
        if ctx.torch is not None:
            t = ctx.torch
            F = t.nn.functional
            tx, tw, tb, tg = (ctx.tensor(a) for a in (x, w, b, g))
            if backward:
                txr, twr, tbr = (a.clone().requires_grad_() for a in (tx, tw, tb))

                def forward_backward():
                    y = F.conv_transpose2d(txr, twr, tbr, **GEO)
                    return y.detach(), t.autograd.grad(y, (txr, twr, tbr), tg)
                fns["torch"] = forward_backward
            else:
                def forward():
                    with t.no_grad():
                        return F.conv_transpose2d(tx, tw, tb, **GEO)
                fns["torch"] = forward
        return fns

    shape = f"{name}:x{'x'.join(map(str, xs))},w{'x'.join(map(str, ws))},s2p1"
    return Case("conv_transpose", "conv_transpose2d_fwd_bwd" if backward else "conv_transpose2d", shape, setup,
                flops=flops)


def cases():
    return [_case(name, backward) for backward in (False, True) for name in SHAPES]
