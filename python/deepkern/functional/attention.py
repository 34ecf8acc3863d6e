"""Differentiable scaled dot-product attention over deepkern.ops.attention."""
from __future__ import annotations

from .. import ops
from ..autograd import Function, Tensor


class ScaledDotProductAttention(Function):
    def forward(self, q, k, v, mask=None, causal=False, scale=None):
        out, lse = ops.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal, scale=scale,
                                                    return_lse=True)
        self.save_for_backward(q, k, v, out, lse)
        self.options = dict(mask=mask, causal=causal, scale=scale)
        return out

    def backward(self, grad):
        q, k, v, out, lse = self.saved
        return ops.scaled_dot_product_attention_backward(grad, q, k, v, out, lse, **self.options)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None):
    """softmax(scale · q kᵀ + mask) v on Tensors, differentiable in q, k and v (not the mask).

    q (..., L, D), k (..., S, D), v (..., S, Dv) -> (..., L, Dv). ``mask``: bool (True = may
    attend) or float added to the scores, broadcastable to (..., L, S), array or Tensor;
    ``causal``: query i sees keys j <= i; ``scale`` defaults to 1/sqrt(D). Rows with no allowed
    key give zeros and zero gradients. See deepkern.ops.scaled_dot_product_attention.
    """
    if isinstance(mask, Tensor):
        mask = mask.data
    return ScaledDotProductAttention.apply(q, k, v, mask=mask, causal=causal, scale=scale)
