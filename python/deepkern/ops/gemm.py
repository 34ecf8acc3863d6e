"""Matrix products: matmul (NumPy's rules: 1-D, 2-D with transposes, batched with broadcast
batch dimensions), linear (x @ w.T + b) and its backward. NumPy arrays run the CPU GEMM (packed, register-blocked, multithreaded), CuPy
arrays the CUDA GEMM on CuPy's current stream."""
from __future__ import annotations

from math import prod

import numpy as np

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


def _batched(x, batch, nb, xp):
    """x (*x_batch, R, C) as the kernel takes it: 2-D when one matrix serves every batch item,
    else (nb, R, C) (broadcast batch dimensions are materialized)."""
    if prod(x.shape[:-2]) == 1:
        return x.reshape(x.shape[-2:])
    if tuple(x.shape[:-2]) != batch:
        x = xp.ascontiguousarray(xp.broadcast_to(x, batch + x.shape[-2:]))
    return x.reshape((nb,) + x.shape[-2:])


def matmul(a, b, trans_a=False, trans_b=False, out=None):
    """op(a) @ op(b) with NumPy's / PyTorch's matmul rules, where op transposes the last two
    dimensions when trans_* is True.

    Shapes (a is (..., M, K), or (..., K, M) when trans_a; b is (..., K, N), or (..., N, K) when
    trans_b):
      2-D:      (M, K) @ (K, N) -> (M, N)
      batched:  (*Ba, M, K) @ (*Bb, K, N) -> (*B, M, N), B the broadcast of Ba and Bb; an
                operand without (or with size-1) batch dimensions is shared by every item
      1-D:      a (K,) is a row (1, K) and b (K,) a column (K, 1) whose unit dimension is
                dropped from the result (trans_* do not apply to a 1-D operand)
    float32 or float64, both the same dtype. Every product runs on the GEMM kernel (one call for
    the whole batch). ``out`` (optional) is a preallocated C-contiguous result of the right
    shape and dtype.
    """
    op = "matmul"
    xp, (a, b) = _checks.arrays(op, a=a, b=b)
    for name, x, layout in (("a", a, "(..., M, K)"), ("b", b, "(..., K, N)")):
        if x.ndim == 0:
            raise ValueError(f"{op}: {name} must be 1-D or more, e.g. {layout}, got a 0-D array")
    trans_a, trans_b = bool(trans_a) and a.ndim > 1, bool(trans_b) and b.ndim > 1
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    (m, k), (kb, n) = _dims(a2, trans_a), _dims(b2, trans_b)
    if k != kb:
        raise ValueError(f"{op}: inner dimensions differ: op(a) has {k} columns (a.shape={tuple(a.shape)}"
                         f"{', trans_a' if trans_a else ''}) but op(b) has {kb} rows (b.shape={tuple(b.shape)}"
                         f"{', trans_b' if trans_b else ''})")
    if a2.ndim == 2 and b2.ndim == 2:  # the common case, without the batch bookkeeping (~3 us a call)
        shape = ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
        out = _output(op, out, shape, a.dtype, xp, a, b)
        if out.size:
            kernels(xp).gemm(a2, b2, out.reshape(m, n), trans_a, trans_b, 1.0, 0.0)
        return out
    try:
        batch = tuple(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    except ValueError:
        raise ValueError(f"{op}: batch dimensions {tuple(a.shape[:-2])} of a and {tuple(b.shape[:-2])} of b do not "
                         f"broadcast (a.shape={tuple(a.shape)}, b.shape={tuple(b.shape)})") from None
    shape = batch + ((m,) if a.ndim > 1 else ()) + ((n,) if b.ndim > 1 else ())
    out = _output(op, out, shape, a.dtype, xp, a, b)
    nb = prod(batch)
    if out.size == 0:
        return out
    A, B = _batched(a2, batch, nb, xp), _batched(b2, batch, nb, xp)
    if A.ndim == 3 and B.ndim == 2 and not trans_a:
        # (B, M, K) @ (K, N) is one (B*M, K) @ (K, N) product: one big GEMM, better blocked.
        kernels(xp).gemm(A.reshape(nb * m, k), B, out.reshape(nb * m, n), False, trans_b, 1.0, 0.0)
    else:
        o = out.reshape((nb, m, n) if A.ndim == 3 or B.ndim == 3 else (m, n))
        kernels(xp).gemm(A, B, o, trans_a, trans_b, 1.0, 0.0)
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
