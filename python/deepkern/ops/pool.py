"""2-D pooling (max, average, adaptive average) and backward passes, array in, array out.

Inputs are (N, C, H, W) or unbatched (C, H, W); each (H, W) plane is pooled independently
into (P, Q) with PyTorch's arguments and sizes: P = floor((H + 2*padding - dilation*(kernel-1)
- 1) / stride) + 1, or ceil with ``ceil_mode`` (which drops a last window that would start past
the input and its padding). stride defaults to kernel_size; padding is at most half the
kernel; padded positions never win a max and count as zeros in an average when
count_include_pad; ``divisor_override`` replaces an average's divisor.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from .._backend import kernels


def _input(op, x):
    xp, (x,) = _checks.arrays(op, x=x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: x must be 4-D (N, C, H, W) or 3-D (C, H, W), got shape {tuple(x.shape)}")
    return xp, x


def _input_shape(op, input_shape):
    shape = tuple(_checks.integer(op, f"input_shape[{i}]", s, minimum=0) for i, s in enumerate(input_shape))
    if len(shape) not in (3, 4):
        raise ValueError(f"{op}: input_shape must have 3 or 4 entries, got {shape}")
    return shape


def _out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    return o - 1 if ceil and (o - 1) * s >= n + p else o


def _window(op, shape, kernel_size, stride, padding, dilation=1, ceil_mode=False):
    """Checked (kernel, stride, padding, dilation) pairs and the output size (P, Q)."""
    kernel = _checks.pair(op, "kernel_size", kernel_size, minimum=1)
    stride = kernel if stride is None else _checks.pair(op, "stride", stride, minimum=1)
    padding = _checks.pair(op, "padding", padding, minimum=0)
    dilation = _checks.pair(op, "dilation", dilation, minimum=1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"{op}: ceil_mode must be a bool, got {type(ceil_mode).__name__} {ceil_mode!r}")
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:  # PyTorch's rule, dilation or not
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size {kernel}")
    H, W = shape[-2:]
    if H + 2 * padding[0] < span[0] or W + 2 * padding[1] < span[1]:
        raise ValueError(f"{op}: kernel_size {span} is larger than the padded input "
                         f"({H + 2 * padding[0]}, {W + 2 * padding[1]}) (x.shape={tuple(shape)}, padding={padding})")
    P = _out(H, kernel[0], stride[0], padding[0], dilation[0], bool(ceil_mode))
    Q = _out(W, kernel[1], stride[1], padding[1], dilation[1], bool(ceil_mode))
    return kernel, stride, padding, dilation, (P, Q)


def _divisor(op, divisor_override):
    if divisor_override is None:
        return 0
    return _checks.integer(op, "divisor_override", divisor_override, minimum=1)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, out=None):
    """Maximum over each kernel_size window (taps ``dilation`` apart): (N, C, H, W) -> (N, C, P, Q)."""
    op = "max_pool2d"
    xp, x = _input(op, x)
    kernel, stride, padding, dilation, (P, Q) = _window(op, x.shape, kernel_size, stride, padding, dilation,
                                                        ceil_mode)
    out = _checks.output(op, out, x.shape[:-2] + (P, Q), x.dtype, xp)
    kernels(xp).max_pool2d_forward(x, out, None, kernel, stride, padding, dilation, bool(ceil_mode))
    return out


def max_pool2d_with_indices(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """(max_pool2d(x), indices): int64 argmax per output, the flat h*W + w in its input plane
    (PyTorch's return_indices=True convention), as max_pool2d_backward takes them."""
    op = "max_pool2d_with_indices"
    xp, x = _input(op, x)
    kernel, stride, padding, dilation, (P, Q) = _window(op, x.shape, kernel_size, stride, padding, dilation,
                                                        ceil_mode)
    out = xp.empty(x.shape[:-2] + (P, Q), dtype=x.dtype)
    idx = xp.empty(out.shape, dtype=np.int64)
    kernels(xp).max_pool2d_forward(x, out, idx, kernel, stride, padding, dilation, bool(ceil_mode))
    return out, idx


def max_pool2d_backward(grad_out, indices, input_shape):
    """Gradient of max pooling: grad_out routed to the saved argmax positions (summed where
    windows overlap on one maximum). Returns an array of ``input_shape``."""
    op = "max_pool2d_backward"
    xp, (grad_out,) = _checks.arrays(op, grad_out=grad_out)
    indices = _checks.index_array(op, "indices", indices, xp)
    shape = _input_shape(op, input_shape)
    if tuple(indices.shape) != tuple(grad_out.shape):
        raise ValueError(f"{op}: indices must have the shape of grad_out {tuple(grad_out.shape)}, "
                         f"got {tuple(indices.shape)}")
    if grad_out.ndim != len(shape) or tuple(grad_out.shape[:-2]) != shape[:-2]:
        raise ValueError(f"{op}: grad_out shape {tuple(grad_out.shape)} does not match input_shape {shape}")
    gx = xp.empty(shape, dtype=grad_out.dtype)
    kernels(xp).max_pool2d_backward(grad_out, indices, gx)
    return gx


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, out=None):
    """Mean over each kernel_size window: (N, C, H, W) -> (N, C, P, Q). The divisor is
    ``divisor_override`` when given, else the window's size within the padded input
    (count_include_pad) or its number of in-image elements, as PyTorch."""
    op = "avg_pool2d"
    xp, x = _input(op, x)
    kernel, stride, padding, _, (P, Q) = _window(op, x.shape, kernel_size, stride, padding, 1, ceil_mode)
    out = _checks.output(op, out, x.shape[:-2] + (P, Q), x.dtype, xp)
    kernels(xp).avg_pool2d_forward(x, out, kernel, stride, padding, bool(ceil_mode), bool(count_include_pad),
                                   _divisor(op, divisor_override))
    return out


def avg_pool2d_backward(grad_out, input_shape, kernel_size, stride=None, padding=0, ceil_mode=False,
                        count_include_pad=True, divisor_override=None):
    """Gradient of avg_pool2d: each output's gradient spread evenly over its window."""
    op = "avg_pool2d_backward"
    xp, (grad_out,) = _checks.arrays(op, grad_out=grad_out)
    shape = _input_shape(op, input_shape)
    kernel, stride, padding, _, (P, Q) = _window(op, shape, kernel_size, stride, padding, 1, ceil_mode)
    _checks.shape(op, "grad_out", grad_out, shape[:-2] + (P, Q))
    gx = xp.empty(shape, dtype=grad_out.dtype)
    kernels(xp).avg_pool2d_backward(grad_out, gx, kernel, stride, padding, bool(ceil_mode), bool(count_include_pad),
                                    _divisor(op, divisor_override))
    return gx


def _output_size(op, output_size, shape):
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        sizes = [shape[-2 + i] if s is None else _checks.integer(op, f"output_size[{i}]", s, minimum=1)
                 for i, s in enumerate(output_size)]
        return tuple(sizes)
    return _checks.pair(op, "output_size", output_size, minimum=1)


def adaptive_avg_pool2d(x, output_size, out=None):
    """Average pooling to a fixed output size (P, Q) (int, pair, or None entries = keep the
    input size): output row p averages input rows [floor(p*H/P), ceil((p+1)*H/P)), likewise
    columns. output_size=1 is global average pooling."""
    op = "adaptive_avg_pool2d"
    xp, x = _input(op, x)
    P, Q = _output_size(op, output_size, x.shape)
    if x.shape[-2] < 1 or x.shape[-1] < 1:
        raise ValueError(f"{op}: input height and width must be >= 1, got x.shape={tuple(x.shape)}")
    out = _checks.output(op, out, x.shape[:-2] + (P, Q), x.dtype, xp)
    kernels(xp).adaptive_avg_pool2d_forward(x, out)
    return out


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    """Gradient of adaptive_avg_pool2d (the output size is grad_out's)."""
    op = "adaptive_avg_pool2d_backward"
    xp, (grad_out,) = _checks.arrays(op, grad_out=grad_out)
    shape = _input_shape(op, input_shape)
    if grad_out.ndim != len(shape) or tuple(grad_out.shape[:-2]) != shape[:-2]:
        raise ValueError(f"{op}: grad_out shape {tuple(grad_out.shape)} does not match input_shape {shape}")
    if shape[-2] < 1 or shape[-1] < 1:
        raise ValueError(f"{op}: input height and width must be >= 1, got input_shape={shape}")
    gx = xp.empty(shape, dtype=grad_out.dtype)
    kernels(xp).adaptive_avg_pool2d_backward(grad_out, gx)
    return gx
