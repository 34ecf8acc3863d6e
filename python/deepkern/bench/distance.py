"""Distance benchmark cases: cdist (Euclidean through the GEMM, forward and forward+backward;
p = 1 directly) beside torch.cdist (its matmul path for p = 2, which it takes at these sizes),
and pairwise_distance forward+backward beside torch.nn.functional.pairwise_distance. Every
implementation allocates its outputs on every call; PyTorch's backward runs through autograd,
as in a training step."""
from __future__ import annotations

from . import Case


def _cdist(P, R, M, p=2.0, backward=False):
    def setup(ctx):
        from .. import ops, reference
        x1, x2 = ctx.randn(P, M), ctx.randn(R, M)
        g = ctx.randn(P, R)
        if backward:
            def deepkern():
                d = ops.cdist(x1, x2, p)
                return ops.cdist_backward(g, x1, x2, d, p)

            def ref():
                d = reference.cdist(x1, x2, p)
                return reference.cdist_backward(g, x1, x2, d, p)
        else:
            deepkern, ref = (lambda: ops.cdist(x1, x2, p)), (lambda: reference.cdist(x1, x2, p))
        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            t = ctx.torch
            if backward:
                l1 = ctx.tensor(x1).clone().requires_grad_()
                l2 = ctx.tensor(x2).clone().requires_grad_()
                tg = ctx.tensor(g)

                def torch_fb():
                    l1.grad = l2.grad = None
                    t.cdist(l1, l2, p=p).backward(tg)
                fns["torch"] = torch_fb
            else:
                t1, t2 = ctx.tensor(x1), ctx.tensor(x2)
                fns["torch"] = lambda: t.cdist(t1, t2, p=p)
        return fns

    gemm_flops = 2.0 * P * R * M * (3 if backward else 1)
    op = f"cdist_p{p:g}" + ("_fwd+bwd" if backward else "")
    return Case("distance", op, f"{P}x{R}x{M}", setup, flops=gemm_flops if p == 2 else 0.0,
                bytes=0.0 if p == 2 else 4.0 * (P + R) * M)


def _pairwise(N, M):
    def setup(ctx):
        from .. import ops, reference
        x1, x2, g = ctx.randn(N, M), ctx.randn(N, M), ctx.randn(N)

        def deepkern():
            d = ops.pairwise_distance(x1, x2)
            return ops.pairwise_distance_backward(g, x1, x2, d)

        def ref():
            d = reference.pairwise_distance(x1, x2)
            return reference.pairwise_distance_backward(g, x1, x2, d)

        fns = {"deepkern": deepkern, "reference": ref}
        if ctx.torch is not None:
            t = ctx.torch
            l1, l2 = ctx.tensor(x1).clone().requires_grad_(), ctx.tensor(x2).clone().requires_grad_()
            tg = ctx.tensor(g)

            def torch_fb():
                l1.grad = l2.grad = None
                t.nn.functional.pairwise_distance(l1, l2).backward(tg)
            fns["torch"] = torch_fb
        return fns

    return Case("distance", "pairwise_distance_fwd+bwd", f"{N}x{M}", setup, bytes=4.0 * 5 * N * M)


def cases():
    return [_cdist(2048, 2048, 128), _cdist(1024, 1024, 128, backward=True), _cdist(256, 256, 128, backward=True),
            _cdist(512, 512, 64, p=1.0), _pairwise(65536, 128)]
