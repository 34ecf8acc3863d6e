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


def _scores(q, k, mask, causal, scale):
    """Scaled, masked scores (..., L, S), -inf where a key is forbidden."""
    L, S = q.shape[-2], k.shape[-2]
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * _scale(q, scale)
    allowed = np.tril(np.ones((L, S), dtype=bool)) if causal else np.ones((L, S), dtype=bool)
    if mask is not None:
        if mask.dtype == bool:
            allowed = allowed & mask
        else:
            s = s + mask.astype(s.dtype)
    return np.where(allowed, s, -np.inf).astype(q.dtype, copy=False)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False, scale=None, return_lse=False):
    """softmax(scale · q kᵀ + mask) v, see deepkern.ops.scaled_dot_product_attention. Rows with
    no allowed key give zeros and lse = -inf. The reference's lse has q's dtype (ops: float64)."""
    s = _scores(q, k, mask, causal, scale)
    m = np.max(s, axis=-1, keepdims=True, initial=-np.inf)
    m_safe = np.where(np.isfinite(m), m, 0).astype(q.dtype, copy=False)
    e = np.exp(s - m_safe)
    total = e.sum(axis=-1, keepdims=True)
    safe_total = np.where(total == 0, 1, total)  # NaN (a NaN score) stays NaN, as PyTorch
    p = np.where(total == 0, 0, e / safe_total).astype(q.dtype, copy=False)
    out = np.matmul(p, v)
    if not return_lse:
        return out
    lse = np.where(total == 0, -np.inf, m_safe + np.log(safe_total))[..., 0].astype(q.dtype, copy=False)
    return out, lse


def scaled_dot_product_attention_backward(grad_out, q, k, v, out, lse, mask=None, causal=False, scale=None):
    """(dq, dk, dv) from the saved forward results, by the formulas the fused kernels use:
    P = exp(s - lse) (0 where forbidden or lse = -inf), delta = rowsum(grad_out ∘ out),
    dS = P ∘ (grad_out vᵀ - delta), dq = scale·dS k, dk = scale·dSᵀ q, dv = Pᵀ grad_out.
    Given the exact out and lse these are the exact gradients."""
    s = _scores(q, k, mask, causal, scale)
    lse = lse[..., None]
    finite = np.isfinite(lse)
    p = np.where(finite, np.exp(s - np.where(finite, lse, 0)), 0).astype(q.dtype, copy=False)
    delta = np.sum(grad_out * out, axis=-1, keepdims=True)
    ds = p * (np.matmul(grad_out, np.swapaxes(v, -1, -2)) - delta)
    sc = _scale(q, scale)
    dq = np.matmul(ds, k) * sc
    dk = np.matmul(np.swapaxes(ds, -1, -2), q) * sc
    dv = np.matmul(np.swapaxes(p, -1, -2), grad_out)
    return dq, dk, dv
