"""Gram matrix cases at the style layers of VGG16 on a 384x384 image (conv1_1: 64 x 384^2 ...
conv5_1: 512 x 24^2), forward and forward+backward. deepkern runs its gram kernels (batched
GEMM with 1/(C H W) as alpha; backward: symmetrize, then one GEMM); PyTorch the expression
style-transfer code writes, torch.bmm(F, F^T) / (C H W), and its autograd backward (two bmm).
Every implementation allocates its outputs on every call."""
from __future__ import annotations

from . import Case

# (C, H, W) of relu1_1 ... relu5_1 at 384 px.
LAYERS = {"conv1_1": (64, 384, 384), "conv2_1": (128, 192, 192), "conv3_1": (256, 96, 96),
          "conv4_1": (512, 48, 48), "conv5_1": (512, 24, 24)}


def _gram(name, backward):
    c, h, w = LAYERS[name]

    def setup(ctx):
        from .. import ops, reference
        x = ctx.randn(1, c, h, w)
        g = ctx.randn(1, c, c)

        def run(impl):
            gram = impl.gram_matrix(x)
            return impl.gram_matrix_backward(g, x) if backward else gram

        fns = {"deepkern": lambda: run(ops), "reference": lambda: run(reference)}
        if ctx.torch is not None:
            t = ctx.torch
            tg = ctx.tensor(g)
            leaf = ctx.tensor(x).clone().reshape(1, c, h * w).requires_grad_(backward)

            def torch_gram():
                gram = t.bmm(leaf, leaf.transpose(1, 2)) / (c * h * w)
                if backward:
                    leaf.grad = None
                    gram.backward(tg)
                return gram
            fns["torch"] = torch_gram
        return fns

    flops = 2 * c * c * h * w * (2 if backward else 1)
    return Case("gram", "gram_fwd+bwd" if backward else "gram", f"{name} {c}x{h}x{w}", setup, flops=flops)


def cases():
    return [_gram(name, backward) for backward in (False, True) for name in LAYERS]
