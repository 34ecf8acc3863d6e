"""Gram matrices of feature maps (the style representation of neural style transfer) and their
gradient, array in, array out.

For x (N, C, H, W) and F[n] = x[n].reshape(C, H*W) (one channel a row, a free view of NCHW),

    gram_matrix(x)[n] = F[n] F[n]^T / (C H W)                          (N, C, C)

so G[n, c, d] is the correlation of channels c and d over all positions (Gatys et al. use the
unnormalized F F^T; dividing by C H W keeps layers of different sizes on one scale). The
kernels are the project's batched GEMM with 1/(C H W) as its alpha.
"""
from __future__ import annotations

from .. import _checks
from .._backend import kernels


def _features(op, x):
    """x (N, C, H, W) -> the (N, C, H*W) view the kernels take, and 1 / (C H W)."""
    _checks.ndim(op, "x", x, 4, "(N, C, H, W)")
    n, c, h, w = x.shape
    if h * w == 0:
        raise ValueError(f"{op}: x has no spatial positions (x.shape={tuple(x.shape)}); the Gram matrix "
                         "is normalized by C*H*W")
    return x.reshape(n, c, h * w), 1.0 / max(c * h * w, 1)


def gram_matrix(x, out=None):
    """G[n] = F[n] @ F[n].T / (C*H*W) with F[n] = x[n].reshape(C, H*W).

    x (N, C, H, W), float32 or float64 -> (N, C, C), symmetric. ``out`` (optional) is a
    preallocated C-contiguous (N, C, C) result.
    """
    op = "gram_matrix"
    xp, (x,) = _checks.arrays(op, x=x)
    f, scale = _features(op, x)
    n, c = x.shape[:2]
    given = out is not None
    out = _checks.output(op, out, (n, c, c), x.dtype, xp)
    if given and xp.may_share_memory(out, x):
        raise ValueError(f"{op}: out must not overlap x")
    kernels(xp).gram_forward(f, out, scale)
    return out


def gram_matrix_backward(grad_out, x):
    """Gradient of gram_matrix: grad_x[n] = (grad_out[n] + grad_out[n].T) @ F[n] / (C*H*W),
    reshaped to x's (N, C, H, W)."""
    op = "gram_matrix_backward"
    xp, (grad_out, x) = _checks.arrays(op, grad_out=grad_out, x=x)
    f, scale = _features(op, x)
    n, c = x.shape[:2]
    _checks.shape(op, "grad_out", grad_out, (n, c, c))
    grad_x = xp.empty_like(x)
    workspace = xp.empty((n, c, c), dtype=x.dtype)
    kernels(xp).gram_backward(grad_out, f, workspace, grad_x.reshape(f.shape), scale)
    return grad_x
