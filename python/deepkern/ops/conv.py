"""2-D convolution (NCHW) and its backward pass, array in, array out.

Shapes: x (N, C, H, W); weight (C_out, C/groups, kH, kW) as in PyTorch; bias (C_out,);
output (N, C_out, P, Q) with P = (H + pad_top + pad_bottom - dilation*(kH-1) - 1) // stride + 1.
In the course's notation n_H = floor((n_H_prev + 2p - f) / s) + 1.
CPU: im2col in column blocks + GEMM (1x1 stride-1 convolutions run the GEMM on x directly);
CUDA: implicit GEMM with shared-memory tiles. See csrc/cpu/conv.cpp, csrc/cuda/conv.cu.
"""
from __future__ import annotations

from .. import _checks
from .._backend import kernels


def _resolve(op, x_shape, w_shape, stride, padding, dilation, groups):
    """Validate the geometry; return (stride, (top, bottom, left, right), dilation, groups, (P, Q))."""
    stride = _checks.pair(op, "stride", stride, minimum=1)
    dilation = _checks.pair(op, "dilation", dilation, minimum=1)
    groups = _checks.integer(op, "groups", groups, minimum=1)
    N, C, H, W = x_shape
    K, Cg, R, S = w_shape
    if R < 1 or S < 1:
        raise ValueError(f"{op}: weight must have kernel sizes >= 1, got weight.shape={tuple(w_shape)}")
    if C % groups or K % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels ({C}) and the output "
                         f"channels ({K}) (x.shape={tuple(x_shape)}, weight.shape={tuple(w_shape)})")
    if Cg * groups != C:
        raise ValueError(f"{op}: weight has {Cg} input channels per group (groups={groups}), so x must have "
                         f"{Cg * groups} channels, but x has {C} (x.shape={tuple(x_shape)}, "
                         f"weight.shape={tuple(w_shape)})")
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' needs stride 1, got stride={stride}")
            th, tw = dilation[0] * (R - 1), dilation[1] * (S - 1)
            pad = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    else:
        ph, pw = _checks.pair(op, "padding", padding, minimum=0)
        pad = (ph, ph, pw, pw)
    eh, ew = dilation[0] * (R - 1) + 1, dilation[1] * (S - 1) + 1
    hp, wp = H + pad[0] + pad[1], W + pad[2] + pad[3]
    if hp < eh or wp < ew:
        raise ValueError(f"{op}: the kernel ({eh}, {ew}) (kernel {(R, S)}, dilation {dilation}) is larger than "
                         f"the padded input ({hp}, {wp}) (x.shape={tuple(x_shape)}, padding={padding!r})")
    return stride, pad, dilation, groups, ((hp - eh) // stride[0] + 1, (wp - ew) // stride[1] + 1)


def _workspace(xp, k, which, x_shape, w_shape, geo, dtype):
    stride, pad, dilation, groups, _ = geo
    size = k.conv2d_workspace_size(which, tuple(x_shape), tuple(w_shape), stride, pad, dilation, groups)
    return xp.empty(int(size), dtype=dtype)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1, out=None):
    """Cross-correlation of x (N, C, H, W) with w (C_out, C/groups, kH, kW), plus b (C_out,).

    stride, dilation: int or (h, w) pair, >= 1. padding: int or (h, w) pair (zeros on both sides),
    'valid' (none) or 'same' (output size = input size; stride 1 only; an odd total goes to
    the bottom/right, as PyTorch). groups splits channels into independent convolutions
    (groups == C == C_out/m is depthwise). Returns (N, C_out, P, Q), or writes ``out=``.
    """
    op = "conv2d"
    xp, (x, w, b) = _checks.arrays(op, x=x, weight=w, bias=b)
    _checks.ndim(op, "x", x, 4, "(N, C, H, W)")
    _checks.ndim(op, "weight", w, 4, "(C_out, C_in/groups, kH, kW)")
    if b is not None:
        _checks.shape(op, "bias", b, (w.shape[0],))
    geo = _resolve(op, x.shape, w.shape, stride, padding, dilation, groups)
    st, pad, dil, groups, (P, Q) = geo
    out = _checks.output(op, out, (x.shape[0], w.shape[0], P, Q), x.dtype, xp)
    k = kernels(xp)
    ws = _workspace(xp, k, "forward", x.shape, w.shape, geo, x.dtype)
    k.conv2d_forward(x, w, b, out, ws, st, pad, dil, groups)
    return out


def conv2d_backward(grad_out, x, w, stride=1, padding=0, dilation=1, groups=1, need_bias=True,
                    need_input=True, need_weight=True):
    """Gradients of conv2d: (grad_x (N, C, H, W), grad_w like w, grad_b (C_out,)).

    Each of the three is None when its ``need_*`` flag is False; need_input=False (the first
    layer of a network) skips the data-gradient pass entirely.
    """
    op = "conv2d_backward"
    xp, (grad_out, x, w) = _checks.arrays(op, grad_out=grad_out, x=x, weight=w)
    _checks.ndim(op, "x", x, 4, "(N, C, H, W)")
    _checks.ndim(op, "weight", w, 4, "(C_out, C_in/groups, kH, kW)")
    geo = _resolve(op, x.shape, w.shape, stride, padding, dilation, groups)
    st, pad, dil, groups, (P, Q) = geo
    _checks.shape(op, "grad_out", grad_out, (x.shape[0], w.shape[0], P, Q))
    k = kernels(xp)
    gx = gw = gb = None
    if need_input:
        gx = xp.empty_like(x)
        ws = _workspace(xp, k, "backward_data", x.shape, w.shape, geo, x.dtype)
        k.conv2d_backward_data(grad_out, w, gx, ws, st, pad, dil, groups)
    if need_weight or need_bias:
        gw = xp.empty_like(w)
        gb = xp.empty(w.shape[0], dtype=w.dtype) if need_bias else None
        ws = _workspace(xp, k, "backward_weight", x.shape, w.shape, geo, x.dtype)
        k.conv2d_backward_weight(grad_out, x, gw, gb, ws, st, pad, dil, groups)
    return gx, (gw if need_weight else None), gb
