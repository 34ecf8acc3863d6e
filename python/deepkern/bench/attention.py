"""Fused attention cases: scaled_dot_product_attention on (B, H, L, D) = (8, 8, 512, 64) float32,
full and causal, forward alone and forward + backward (the gradients of sum(out * g) wrt q, k, v),
against PyTorch's scaled_dot_product_attention (its CPU flash kernel). Outputs are allocated on
every call by every implementation. The NumPy reference materializes the (B, H, L, L) scores
(forward only). flops count the unmasked score pairs only (causal: L(L+1)/2 per head): forward
4·pairs·D, forward + backward 14·pairs·D (the backward recomputes S and forms dP, dV, dK, dQ)."""
from __future__ import annotations

from . import Case


def _case(B, H, L, D, causal, backward, dtype="float32"):
    def setup(ctx):
        from .. import ops, reference
        q, k, v, g = (ctx.randn(B, H, L, D, dtype=dtype) for _ in range(4))
        if backward:
            def ours():
                out, lse = ops.scaled_dot_product_attention(q, k, v, causal=causal, return_lse=True)
                return ops.scaled_dot_product_attention_backward(g, q, k, v, out, lse, causal=causal)
            fns = {"deepkern": ours}
        else:
            fns = {"deepkern": lambda: ops.scaled_dot_product_attention(q, k, v, causal=causal)}
            if ctx.device == "cpu":
                fns["reference"] = lambda: reference.scaled_dot_product_attention(q, k, v, causal=causal)
        if ctx.torch is not None:
            torch = ctx.torch
            tq, tk, tv, tg = (ctx.tensor(x) for x in (q, k, v, g))
            sdpa = torch.nn.functional.scaled_dot_product_attention
            if backward:
                def theirs():
                    a, b, c = (x.detach().requires_grad_() for x in (tq, tk, tv))
                    sdpa(a, b, c, is_causal=causal).backward(tg)
                    return a.grad, b.grad, c.grad
            else:
                def theirs():
                    with torch.no_grad():
                        return sdpa(tq, tk, tv, is_causal=causal)
            fns["torch"] = theirs
        return fns

    pairs = L * (L + 1) // 2 if causal else L * L
    name = "sdpa_fwd_bwd" if backward else "sdpa_fwd"
    return Case("attention", name, f"B={B},H={H},L={L},D={D}{',causal' if causal else ''}", setup,
                flops=(14 if backward else 4) * B * H * pairs * D, dtype=dtype)


def cases():
    return [_case(8, 8, 512, 64, causal, backward) for backward in (False, True) for causal in (False, True)]
