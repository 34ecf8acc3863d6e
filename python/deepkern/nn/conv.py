"""Conv2d and ConvTranspose2d: 2-D convolution layers with PyTorch's arguments, state_dict names
and init."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _check_channels(name, in_channels, out_channels, groups):
    for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name}: {arg} must be a positive int, got {v!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"{name}: groups={groups} must divide in_channels={in_channels} and "
                         f"out_channels={out_channels}")


def _check_input(layer, x):
    if x.ndim not in (3, 4):
        raise ValueError(f"{layer._short()}: expected a 4-D (N, C, H, W) or 3-D (C, H, W) input, "
                         f"got shape {tuple(x.shape)}")
    c = x.shape[-3]
    if c != layer.in_channels:
        raise ValueError(f"{layer._short()}: input has {c} channels, expected {layer.in_channels} "
                         f"(input shape {tuple(x.shape)})")
    if x.dtype != layer.weight.dtype:
        raise TypeError(f"{layer._short()}: input is {x.dtype} but the weights are {layer.weight.dtype} "
                        "(cast the input, or the module with .double()/.float())")


class Conv2d(Module):
    """Applies a 2-D convolution over (N, C_in, H, W) (or unbatched (C_in, H, W)) inputs.

    weight: (out_channels, in_channels // groups, kH, kW); bias: (out_channels,).
    Both start U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels/groups * kH * kW
    (PyTorch's kaiming_uniform_(a=sqrt(5)) default). padding: int, pair, 'same' or 'valid'.
    Output (N, out_channels, H_out, W_out), H_out = (H + 2*padding - dilation*(kH-1) - 1)//stride + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_channels(name, in_channels, out_channels, groups)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self.groups = int(groups)
        if self.padding == "same" and self.stride != (1, 1):
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride={self.stride}")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def _short(self):
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size})"

    def forward(self, x):
        _check_input(self, x)
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose2d(Module):
    """Applies a transposed 2-D convolution (the adjoint of Conv2d, "deconvolution") over
    (N, C_in, H, W) (or unbatched (C_in, H, W)) inputs, as torch.nn.ConvTranspose2d.

    weight: (in_channels, out_channels // groups, kH, kW) (PyTorch's layout: the Conv2d that this
    layer undoes has out_channels inputs and in_channels outputs); bias: (out_channels,). Both start
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with PyTorch's fan_in = out_channels/groups * kH * kW.
    Output (N, out_channels, H_out, W_out),
    H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) + output_padding + 1.
    ``forward(x, output_size=None)``: an (H_out, W_out) (or (N, C, H_out, W_out)) target picks the
    output_padding, as in PyTorch.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, dtype=None):
        super().__init__()
        name = type(self).__name__
        _check_channels(name, in_channels, out_channels, groups)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        self.padding, self.output_padding = _pair(padding), _pair(output_padding)
        self.groups = int(groups)
        for o, st, d in zip(self.output_padding, self.stride, self.dilation):
            if o >= st and o >= d:
                raise ValueError(f"{name}: output_padding must be smaller than the stride or the dilation, got "
                                 f"output_padding={self.output_padding}, stride={self.stride}, "
                                 f"dilation={self.dilation}")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.out_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def _short(self):
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size})"

    def _output_padding(self, x, output_size):
        if output_size is None:
            return self.output_padding
        size = tuple(int(v) for v in output_size)[-2:]
        pads = []
        for d, target in enumerate(size):
            smallest = ((x.shape[-2 + d] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + max(self.stride[d], self.dilation[d]) - 1
            if not smallest <= target <= largest:
                raise ValueError(f"{self._short()}: output_size {size} is not reachable from input shape "
                                 f"{tuple(x.shape)}: dimension {d} must be in [{smallest}, {largest}]")
            pads.append(target - smallest)
        return tuple(pads)

    def forward(self, x, output_size=None):
        _check_input(self, x)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(x, output_size), self.groups, self.dilation)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
