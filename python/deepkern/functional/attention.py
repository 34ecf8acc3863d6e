"""Differentiable scaled dot-product attention over deepkern.ops.attention."""
from __future__ import annotations

import math

import numpy as np

from .. import _checks, ops
from .._backend import array_module
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


def scaled_dot_product_attention(q, k, v, mask=None, dropout_p=0.0, causal=False, scale=None, *, attn_mask=None,
                                 is_causal=None):
    """dropout(softmax(scale · q kᵀ + mask)) v on Tensors, differentiable in q, k and v (not the
    mask); the arguments in torch.nn.functional.scaled_dot_product_attention's order, and its
    names ``attn_mask`` / ``is_causal`` accepted for ``mask`` / ``causal``.

    q (..., L, D), k (..., S, D), v (..., S, Dv) -> (..., L, Dv); the batch dims broadcast.
    ``mask``: bool (True = may attend) or float added to the scores, broadcastable to
    (..., L, S), array or Tensor; ``causal``: query i sees keys j <= i; ``scale`` defaults to
    1/sqrt(D). Rows with no allowed key give zeros and zero gradients. With ``dropout_p`` = 0
    it is one fused kernel (deepkern.ops.scaled_dot_product_attention); ``dropout_p`` > 0 (as
    torch, applied whenever given: pass 0 in eval mode) drops attention probabilities with the
    dropout kernel, on the (..., L, S) scores made explicitly.
    """
    if attn_mask is not None:
        if mask is not None:
            raise TypeError("scaled_dot_product_attention: got mask and attn_mask; give one")
        mask = attn_mask
    if is_causal is not None:
        causal = is_causal
    if isinstance(mask, Tensor):
        mask = mask.data
    p = _checks.real("scaled_dot_product_attention", "dropout_p", dropout_p, 0.0, 1.0)
    if p == 0:
        return ScaledDotProductAttention.apply(q, k, v, mask=mask, causal=causal, scale=scale)
    return _attention_with_dropout(q, k, v, mask, p, bool(causal), scale)


def _attention_with_dropout(q, k, v, mask, p, causal, scale):
    """The unfused form: scores, masked softmax (all-masked rows give zeros, as the kernel),
    dropout, then the product with v; every step differentiable."""
    from .basic import matmul, transpose, where
    from .dropout import dropout
    from .softmax import softmax

    q, k, v = (x if isinstance(x, Tensor) else Tensor(x) for x in (q, k, v))
    xp = array_module(q.data)
    D, L, S = q.shape[-1], q.shape[-2], k.shape[-2]
    sc = 1.0 / math.sqrt(D) if scale is None and D > 0 else (1.0 if scale is None else float(scale))
    axes = list(range(k.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    scores = matmul(q, transpose(k, axes)) * sc
    allowed = None
    if causal:
        allowed = xp.tril(xp.ones((L, S), dtype=bool))
    if mask is not None and mask.dtype == np.bool_:
        allowed = mask if allowed is None else allowed & mask
    elif mask is not None:
        scores = scores + Tensor(mask)
    if allowed is not None:
        scores = where(xp.broadcast_to(allowed, scores.shape), scores, Tensor(xp.asarray(-np.inf, scores.dtype)))
    row_ok = xp.isfinite(scores.data).any(axis=-1, keepdims=True) | xp.isnan(scores.data).any(axis=-1, keepdims=True)
    if not bool(row_ok.all()):  # rows with no allowed key: zeros, not softmax's NaN
        scores = where(xp.broadcast_to(row_ok, scores.shape), scores, Tensor(xp.zeros((), scores.dtype)))
        probs = softmax(scores, axis=-1) * Tensor(row_ok.astype(scores.dtype))
    else:
        probs = softmax(scores, axis=-1)
    return matmul(dropout(probs, p), v)
