"""Differentiable 2-D convolution and transposed convolution over deepkern.ops."""
from __future__ import annotations

from .. import ops
from ..autograd import Function


class Conv2d(Function):
    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        self.save_for_backward(x, w)
        self.args = (stride, padding, dilation, groups)
        self.has_bias = b is not None
        return ops.conv2d(x, w, b, stride, padding, dilation, groups)

    def backward(self, grad):
        x, w = self.saved
        need = self.needs_input_grad
        gx, gw, gb = ops.conv2d_backward(grad, x, w, *self.args, need_bias=self.has_bias and need[2],
                                         need_input=need[0], need_weight=need[1])
        return gx, gw, gb


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) as torch.nn.functional.conv2d.

    input (N, C, H, W) or unbatched (C, H, W); weight (C_out, C/groups, kH, kW); bias (C_out,).
    stride/dilation: int or pair; padding: int, pair, 'same' (stride 1) or 'valid'.
    Returns (N, C_out, P, Q) (or (C_out, P, Q) for an unbatched input).
    """
    if input.ndim == 3:
        from .basic import reshape
        y = Conv2d.apply(reshape(input, (1, *input.shape)), weight, bias, stride=stride, padding=padding,
                         dilation=dilation, groups=groups)
        return reshape(y, y.shape[1:])
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


class ConvTranspose2d(Function):
    def forward(self, x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        self.save_for_backward(x, w)
        self.args = (stride, padding, output_padding, groups, dilation)
        self.has_bias = b is not None
        return ops.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)

    def backward(self, grad):
        x, w = self.saved
        need = self.needs_input_grad
        return ops.conv_transpose2d_backward(grad, x, w, *self.args, need_bias=self.has_bias and need[2],
                                             need_input=need[0], need_weight=need[1])


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Transposed 2-D convolution as torch.nn.functional.conv_transpose2d (same argument order).

    input (N, C_in, H, W) or unbatched (C_in, H, W); weight (C_in, C_out/groups, kH, kW); bias (C_out,).
    Returns (N, C_out, H_out, W_out), H_out = (H - 1)*stride - 2*padding + dilation*(kH - 1) +
    output_padding + 1 (or (C_out, H_out, W_out) for an unbatched input).
    """
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    if input.ndim == 3:
        from .basic import reshape
        y = ConvTranspose2d.apply(reshape(input, (1, *input.shape)), weight, bias, **kw)
        return reshape(y, y.shape[1:])
    return ConvTranspose2d.apply(input, weight, bias, **kw)
