"""Pure-NumPy scaled dot-product attention: the ground truth for deepkern.ops.attention.

Written dtype-generically (float32, float64, long double). Materializes the (..., L, S) scores,
which the fused kernels never do.
"""
import numpy as np


def _scale(q, scale):
    d = q.shape[-1]
    if scale is None:
        return q.dtype.type(1) / np.sqrt(q.dtype.type(d)) if d > 0 else q.dtype.type(1)
    return q.dtype.type(scale)


def _probabilities(q, k, mask, causal, scale):
    """Softmax probabilities (..., L, S) and the log-sum-exp (..., L); rows with no allowed key
    get probabilities 0 and lse -inf."""
    L, S = q.shape[-2], k.shape[-2]
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * _scale(q, scale)
    allowed = np.tril(np.ones((L, S), dtype=bool)) if causal else np.ones((L, S), dtype=bool)
    if mask is not None:
        if mask.dtype == bool:
            allowed = allowed & mask
        else:
            s = s + mask.astype(s.dtype)
    s = np.where(allowed, s, -np.inf).astype(q.dtype, copy=False)
    m = np.max(s, axis=-1, keepdims=True, initial=-np.inf)
    m_safe = np.where(np.isfinite(m), m, 0).astype(q.dtype, copy=False)
    e = np.exp(s - m_safe)
    total = e.sum(axis=-1, keepdims=True)
    p = np.where(total > 0, e / np.where(total > 0, total, 1), 0).astype(q.dtype, copy=False)
    lse = np.where(total > 0, m_safe + np.log(np.where(total > 0, total, 1)), -np.inf)
    return p, lse[..., 0].astype(q.dtype, copy=False)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, return_lse=False):
    """softmax(scale · q kᵀ + mask) v, see deepkern.ops.scaled_dot_product_attention."""
    p, lse = _probabilities(q, k, mask, causal, scale)
    out = np.matmul(p, v)
    return (out, lse) if return_lse else out


def scaled_dot_product_attention_backward(grad_out, q, k, v, out, lse, mask=None, causal=False, scale=None):
    """(dq, dk, dv). The reference recomputes the probabilities and the output from q, k, v in
    its own precision; ``out`` and ``lse`` are only checked for shape, as the ground truth must
    not inherit the forward kernel's rounding."""
    if out.shape != grad_out.shape or lse.shape != grad_out.shape[:-1]:
        raise ValueError("scaled_dot_product_attention_backward: out / lse do not match grad_out")
    p, _ = _probabilities(q, k, mask, causal, scale)
    o = np.matmul(p, v)
    delta = np.sum(grad_out * o, axis=-1, keepdims=True)
    dp = np.matmul(grad_out, np.swapaxes(v, -1, -2))
    ds = p * (dp - delta)
    sc = _scale(q, scale)
    dq = np.matmul(ds, k) * sc
    dk = np.matmul(np.swapaxes(ds, -1, -2), q) * sc
    dv = np.matmul(np.swapaxes(p, -1, -2), grad_out)
    return dq, dk, dv
