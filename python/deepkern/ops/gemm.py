"""Matrix products: matmul (2-D, with transposes, or batched 3-D), linear (x @ w.T + b) and
its backward. NumPy arrays run the CPU GEMM (packed, register-blocked, multithreaded), CuPy
arrays the CUDA GEMM on CuPy's current stream."""
from __future__ import annotations

from math import prod

from .. import _checks
from .._backend import kernels


def _dims(x, trans):
    """(rows, cols) of op(x)'s last two dimensions."""
    r, c = x.shape[-2:]
    return (c, r) if trans else (r, c)


def _output(op, out, shape, dtype, xp, *inputs):
    """The result array; a caller's ``out=`` must not overlap an input (the kernels read
    the inputs after they start writing the output)."""
    if out is not None:
        for x in inputs:
            if x is not None and xp.may_share_memory(out, x):
                raise ValueError(f"{op}: out must not overlap the inputs (in-place products are not supported)")
    return _checks.output(op, out, shape, dtype, xp)


def matmul(a, b, trans_a=False, trans_b=False, out=None):
    """op(a) @ op(b), where op transposes the last two dimensions when trans_* is True.

    Shapes:
      2-D:      op(a) (M, K) @ op(b) (K, N) -> (M, N)
      batched:  op(a) (B, M, K) or (M, K) @ op(b) (B, K, N) or (K, N) -> (B, M, N);
                at least one operand is 3-D and a 2-D operand is shared by every batch item.
    a is (M, K), or (K, M) when trans_a; b is (K, N), or (N, K) when trans_b.
    float32 or float64, both the same dtype. ``out`` (optional) is a preallocated C-contiguous
    result of the right shape and dtype.
    """
    op = "matmul"
    xp, (a, b) = _checks.arrays(op, a=a, b=b)
    for name, x in (("a", a), ("b", b)):
        if x.ndim not in (2, 3):
            raise ValueError(f"{op}: {name} must be 2-D (M, K) or 3-D (B, M, K), got shape {tuple(x.shape)}")
    trans_a, trans_b = bool(trans_a), bool(trans_b)
    (m, k), (kb, n) = _dims(a, trans_a), _dims(b, trans_b)
    if k != kb:
        raise ValueError(f"{op}: inner dimensions differ: op(a) is {(m, k)} (a.shape={tuple(a.shape)}) "
                         f"but op(b) is {(kb, n)} (b.shape={tuple(b.shape)})")
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] != b.shape[0]:
        raise ValueError(f"{op}: batch sizes differ: a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)}")
    batch = a.shape[0] if a.ndim == 3 else b.shape[0] if b.ndim == 3 else None
    shape = (m, n) if batch is None else (batch, m, n)
    out = _output(op, out, shape, a.dtype, xp, a, b)
    if a.ndim == 3 and b.ndim == 2 and not trans_a:
        # (B, M, K) @ (K, N) is one (B*M, K) @ (K, N) product: one big GEMM, better blocked.
        rows = a.shape[0] * m
        kernels(xp).gemm(a.reshape(rows, k), b, out.reshape(rows, n), False, trans_b, 1.0, 0.0)
    else:
        kernels(xp).gemm(a, b, out, trans_a, trans_b, 1.0, 0.0)
    return out


def _check_linear(op, x, w):
    _checks.ndim(op, "w", w, 2, "(out_features, in_features)")
    if x.ndim < 1:
        raise ValueError(f"{op}: x must have shape (*, in_features), got a 0-D array")
    if x.shape[-1] != w.shape[1]:
        raise ValueError(f"{op}: w has {w.shape[1]} input features but x has {x.shape[-1]} "
                         f"(x.shape={tuple(x.shape)}, w.shape={tuple(w.shape)})")


def linear(x, w, b=None, out=None):
    """x @ w.T + b, as PyTorch's ``F.linear``; the bias is added in the GEMM's epilogue.

    Shapes: x (*, in_features), w (out_features, in_features), b (out_features,) or None
    -> (*, out_features).
    """
    op = "linear"
    xp, (x, w, b) = _checks.arrays(op, x=x, w=w, b=b)
    _check_linear(op, x, w)
    if b is not None:
        _checks.shape(op, "b", b, (w.shape[0],))
    out = _output(op, out, x.shape[:-1] + (w.shape[0],), x.dtype, xp, x, w, b)
    rows = prod(x.shape[:-1])
    kernels(xp).gemm(x.reshape(rows, w.shape[1]), w, out.reshape(rows, w.shape[0]), False, True, 1.0, 0.0, b)
    return out


def linear_backward(grad_out, x, w, need_bias=True):
    """Gradients of ``linear``: returns (grad_x, grad_w, grad_b).

    Shapes: grad_out (*, out_features), x (*, in_features), w (out_features, in_features)
    -> grad_x (*, in_features) = grad_out @ w, grad_w (out_features, in_features) =
    grad_out^T @ x (summed over all leading dimensions), grad_b (out_features,) = the column
    sums of grad_out (a reduction kernel), or None when ``need_bias`` is False.
    """
    op = "linear_backward"
    xp, (grad_out, x, w) = _checks.arrays(op, grad_out=grad_out, x=x, w=w)
    _check_linear(op, x, w)
    _checks.shape(op, "grad_out", grad_out, x.shape[:-1] + (w.shape[0],))
    n_out, n_in = w.shape
    rows = prod(x.shape[:-1])
    g2, x2 = grad_out.reshape(rows, n_out), x.reshape(rows, n_in)
    k = kernels(xp)
    gx = xp.empty(x.shape, dtype=x.dtype)
    k.gemm(g2, w, gx.reshape(rows, n_in), False, False, 1.0, 0.0)
    gw = xp.empty(w.shape, dtype=w.dtype)
    k.gemm(g2, x2, gw, True, False, 1.0, 0.0)
    gb = None
    if need_bias:
        gb = xp.empty((n_out,), dtype=w.dtype)
        k.column_sum(g2, gb)
    return gx, gw, gb
