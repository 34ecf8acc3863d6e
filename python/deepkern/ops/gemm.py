"""Matrix products: matmul with transposes, linear (x @ w.T + b) and its backward."""
from __future__ import annotations

from .. import _checks
from .._backend import kernels


def matmul(a, b, trans_a=False, trans_b=False, out=None):
    """op(a) @ op(b) for 2-D arrays, op = transpose when trans_* is True.

    Shapes: op(a) is (M, K), op(b) is (K, N), result (M, N).
    """
    op = "matmul"
    xp, (a, b) = _checks.arrays(op, a=a, b=b)
    _checks.ndim(op, "a", a, 2)
    _checks.ndim(op, "b", b, 2)
    m, k = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if k != kb:
        raise ValueError(f"{op}: inner dimensions differ: op(a) is {(m, k)} (a.shape={tuple(a.shape)}) "
                         f"but op(b) is {(kb, n)} (b.shape={tuple(b.shape)})")
    out = _checks.output(op, out, (m, n), a.dtype, xp)
    kernels(xp).gemm(a, b, out, bool(trans_a), bool(trans_b), 1.0, 0.0)
    return out


def linear(x, w, b=None, out=None):
    """x @ w.T + b. x is (N, in), w is (out, in) as in PyTorch, b is (out,) or None."""
    op = "linear"
    xp, (x, w, b) = _checks.arrays(op, x=x, w=w, b=b)
    _checks.ndim(op, "x", x, 2, "(N, in_features)")
    _checks.ndim(op, "w", w, 2, "(out_features, in_features)")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"{op}: w has {w.shape[1]} input features but x has {x.shape[1]} "
                         f"(x.shape={tuple(x.shape)}, w.shape={tuple(w.shape)})")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"{op}: b must have shape {(w.shape[0],)}, got {tuple(b.shape)}")
    out = _checks.output(op, out, (x.shape[0], w.shape[0]), x.dtype, xp)
    if b is not None:
        out[...] = b
    kernels(xp).gemm(x, w, out, False, True, 1.0, 0.0 if b is None else 1.0)
    return out


def linear_backward(grad_out, x, w, need_bias=True):
    """Gradients of linear: returns (grad_x (N, in), grad_w (out, in), grad_b (out,) or None)."""
    op = "linear_backward"
    xp, (grad_out, x, w) = _checks.arrays(op, grad_out=grad_out, x=x, w=w)
    _checks.shape(op, "grad_out", grad_out, (x.shape[0], w.shape[0]))
    k = kernels(xp)
    gx = xp.empty_like(x)
    k.gemm(grad_out, w, gx, False, False, 1.0, 0.0)
    gw = xp.empty_like(w)
    k.gemm(grad_out, x, gw, True, False, 1.0, 0.0)
    gb = grad_out.sum(axis=0) if need_bias else None
    return gx, gw, gb
