"""2-D convolution (NCHW), transposed convolution, and their backward passes, array in, array out.

Shapes: x (N, C, H, W); weight (C_out, C/groups, kH, kW) as in PyTorch; bias (C_out,);
output (N, C_out, P, Q) with P = (H + pad_top + pad_bottom - dilation*(kH-1) - 1) // stride + 1.
In the course's notation n_H = floor((n_H_prev + 2p - f) / s) + 1.
CPU: im2col in column blocks + GEMM (1x1 stride-1 convolutions run the GEMM on x directly);
CUDA: implicit GEMM with shared-memory tiles. See csrc/cpu/conv.cpp, csrc/cuda/conv.cu.
conv_transpose2d runs on the same kernels (it is conv2d's adjoint: its forward is conv2d's data
gradient, its data gradient conv2d's forward).
"""
from __future__ import annotations

from .. import _checks
from .._backend import kernels, scratch


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
    return scratch(xp, size, dtype)


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


def _resolve_transpose(op, x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    """Validate a transposed convolution; return (stride, padding, output_padding, dilation, groups,
    (C_out, H_out, W_out))."""
    stride = _checks.pair(op, "stride", stride, minimum=1)
    dilation = _checks.pair(op, "dilation", dilation, minimum=1)
    groups = _checks.integer(op, "groups", groups, minimum=1)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a pair of ints (no 'same'/'valid' for a transposed "
                         f"convolution, as in PyTorch), got {padding!r}")
    padding = _checks.pair(op, "padding", padding, minimum=0)
    output_padding = _checks.pair(op, "output_padding", output_padding, minimum=0)
    for i, (o, s, d) in enumerate(zip(output_padding, stride, dilation)):
        if o >= s and o >= d:
            raise ValueError(f"{op}: output_padding must be smaller than the stride or the dilation, got "
                             f"output_padding={output_padding}, stride={stride}, dilation={dilation}")
    N, C, H, W = x_shape
    Cin, Kg, R, S = w_shape
    if R < 1 or S < 1:
        raise ValueError(f"{op}: weight must have kernel sizes >= 1, got weight.shape={tuple(w_shape)}")
    if Cin != C:
        raise ValueError(f"{op}: weight has {Cin} input channels (weight.shape={tuple(w_shape)} is (C_in, "
                         f"C_out/groups, kH, kW)) but x has {C} (x.shape={tuple(x_shape)})")
    if C % groups:
        raise ValueError(f"{op}: groups={groups} must divide the input channels ({C}) (x.shape={tuple(x_shape)})")
    if H < 1 or W < 1:
        raise ValueError(f"{op}: x must have height and width >= 1, got x.shape={tuple(x_shape)}")
    Ho = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (R - 1) + output_padding[0] + 1
    Wo = (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (S - 1) + output_padding[1] + 1
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{op}: the output size ({Ho}, {Wo}) must be positive: padding={padding} crops more than "
                         f"the (H_in - 1)*stride + dilation*(k - 1) + output_padding + 1 = "
                         f"({Ho + 2 * padding[0]}, {Wo + 2 * padding[1]}) the input spreads over "
                         f"(x.shape={tuple(x_shape)}, weight.shape={tuple(w_shape)})")
    return stride, padding, output_padding, dilation, groups, (Kg * groups, Ho, Wo)


def _transpose_workspace(xp, k, which, x_shape, w_shape, geo, dtype):
    size = k.conv_transpose2d_workspace_size(which, tuple(x_shape), tuple(w_shape), *geo[:5])
    return scratch(xp, size, dtype)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1, out=None):
    """Transposed convolution ("deconvolution") of x (N, C_in, H, W) with w (C_in, C_out/groups, kH, kW),
    plus b (C_out,), as torch.nn.functional.conv_transpose2d (same argument order).

    The adjoint of conv2d: conv2d with the same weight, stride, padding and dilation maps the
    output back to x's shape, and conv_transpose2d is that map's transpose (what conv2d's data
    gradient computes). Every input pixel adds w[c] times its value into the output at
    stride spacing. Output (N, C_out, H_out, W_out) with
    H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1;
    output_padding (< stride or < dilation) picks among the output sizes a stride-s conv2d maps
    to the same H. stride, padding, output_padding, dilation: int or (h, w) pair.
    Returns the output, or writes ``out=``.
    """
    op = "conv_transpose2d"
    xp, (x, w, b) = _checks.arrays(op, x=x, weight=w, bias=b)
    _checks.ndim(op, "x", x, 4, "(N, C_in, H, W)")
    _checks.ndim(op, "weight", w, 4, "(C_in, C_out/groups, kH, kW)")
    geo = _resolve_transpose(op, x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    C_out, Ho, Wo = geo[5]
    if b is not None:
        _checks.shape(op, "bias", b, (C_out,))
    out = _checks.output(op, out, (x.shape[0], C_out, Ho, Wo), x.dtype, xp)
    k = kernels(xp)
    ws = _transpose_workspace(xp, k, "forward", x.shape, w.shape, geo, x.dtype)
    k.conv_transpose2d_forward(x, w, b, out, ws, *geo[:5])
    return out


def conv_transpose2d_backward(grad_out, x, w, stride=1, padding=0, output_padding=0, groups=1, dilation=1,
                              need_bias=True, need_input=True, need_weight=True):
    """Gradients of conv_transpose2d: (grad_x (N, C_in, H, W), grad_w like w, grad_b (C_out,)).

    grad_x is conv2d(grad_out, w) (same stride, padding, dilation, groups); each of the three is
    None when its ``need_*`` flag is False.
    """
    op = "conv_transpose2d_backward"
    xp, (grad_out, x, w) = _checks.arrays(op, grad_out=grad_out, x=x, weight=w)
    _checks.ndim(op, "x", x, 4, "(N, C_in, H, W)")
    _checks.ndim(op, "weight", w, 4, "(C_in, C_out/groups, kH, kW)")
    geo = _resolve_transpose(op, x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    _checks.shape(op, "grad_out", grad_out, (x.shape[0], *geo[5]))
    k = kernels(xp)
    gx = gw = gb = None
    if need_input:
        gx = xp.empty_like(x)
        ws = _transpose_workspace(xp, k, "backward_data", x.shape, w.shape, geo, x.dtype)
        k.conv_transpose2d_backward_data(grad_out, w, gx, ws, *geo[:5])
    if need_weight or need_bias:
        gw = xp.empty_like(w)
        gb = xp.empty(geo[5][0], dtype=w.dtype) if need_bias else None
        ws = _transpose_workspace(xp, k, "backward_weight", x.shape, w.shape, geo, x.dtype)
        k.conv_transpose2d_backward_weight(grad_out, x, gw, gb, ws, *geo[:5])
    return gx, (gw if need_weight else None), gb
