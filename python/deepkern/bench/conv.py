"""conv2d benchmark cases at the course models' shapes (float32): LeNet's 5x5 (N=64, 1->6,
28x28), ResNet's 3x3 (N=8, 64->64, 56x56, pad 1) and 1x1 (N=8, 256->64, 56x56), VGG's 3x3
(N=8, 128->128, 56x56, pad 1); forward, and forward + backward (grad_x, grad_w, grad_b).
Every implementation allocates its outputs on each call. The NumPy reference (a loop over
kernel taps with einsum) runs on the CPU only."""
from __future__ import annotations

import numpy as np

from . import Case

SHAPES = {  # name: (x shape, weight shape, padding)
    "lenet5x5": ((64, 1, 28, 28), (6, 1, 5, 5), 0),
    "resnet3x3": ((8, 64, 56, 56), (64, 64, 3, 3), 1),
    "resnet1x1": ((8, 256, 56, 56), (64, 256, 1, 1), 0),
    "vgg3x3": ((8, 128, 56, 56), (128, 128, 3, 3), 1),
}


def _case(name, backward):
    xs, ws, pad = SHAPES[name]
    P = xs[2] + 2 * pad - ws[2] + 1
    Q = xs[3] + 2 * pad - ws[3] + 1
    flops = 2.0 * xs[0] * ws[0] * P * Q * ws[1] * ws[2] * ws[3] * (3 if backward else 1)

    def setup(ctx):
        from .. import ops, reference
        x = ctx.randn(*xs)
        w = ctx.randn(*ws) * np.float32(1 / np.sqrt(np.prod(ws[1:])))
        b = ctx.randn(ws[0])
        g = ctx.randn(xs[0], ws[0], P, Q)
        if backward:
            fns = {"deepkern": lambda: (ops.conv2d(x, w, b, padding=pad), ops.conv2d_backward(g, x, w, padding=pad))}
            if ctx.device == "cpu":
                fns["reference"] = lambda: (reference.conv2d(x, w, b, padding=pad),
                                            reference.conv2d_backward(g, x, w, padding=pad))
        else:
            fns = {"deepkern": lambda: ops.conv2d(x, w, b, padding=pad)}
            if ctx.device == "cpu":
                fns["reference"] = lambda: reference.conv2d(x, w, b, padding=pad)
        if ctx.torch is not None:
            t = ctx.torch
            F = t.nn.functional
            tx, tw, tb, tg = (ctx.tensor(a) for a in (x, w, b, g))
            if backward:
                txr, twr, tbr = (a.clone().requires_grad_() for a in (tx, tw, tb))

                def forward_backward():
                    y = F.conv2d(txr, twr, tbr, padding=pad)
                    return y.detach(), t.autograd.grad(y, (txr, twr, tbr), tg)
                fns["torch"] = forward_backward
            else:
                def forward():
                    with t.no_grad():
                        return F.conv2d(tx, tw, tb, padding=pad)
                fns["torch"] = forward
        return fns

    shape = f"{name}:x{'x'.join(map(str, xs))},w{'x'.join(map(str, ws))},pad{pad}"
    return Case("conv", "conv2d_fwd_bwd" if backward else "conv2d", shape, setup, flops=flops)


def cases():
    return [_case(name, backward) for backward in (False, True) for name in SHAPES]
