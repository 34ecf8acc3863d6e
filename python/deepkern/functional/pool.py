"""Differentiable 2-D pooling over deepkern.ops.pool: inputs (N, C, H, W) or (C, H, W)."""
from __future__ import annotations

from .. import ops
from ..autograd import Function, Tensor, is_grad_enabled


class MaxPool2d(Function):
    def forward(self, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        y, self.indices = ops.max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode)
        self.input_shape = x.shape
        return y

    def backward(self, grad):
        return ops.max_pool2d_backward(grad, self.indices, self.input_shape)


class AvgPool2d(Function):
    def forward(self, x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        self.args = (x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        return ops.avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)

    def backward(self, grad):
        return ops.avg_pool2d_backward(grad, *self.args)


class AdaptiveAvgPool2d(Function):
    def forward(self, x, output_size):
        self.input_shape = x.shape
        return ops.adaptive_avg_pool2d(x, output_size)

    def backward(self, grad):
        return ops.adaptive_avg_pool2d_backward(grad, self.input_shape)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max pooling as torch.nn.functional.max_pool2d (same arguments; ``return_indices`` gives
    ``(output, indices)`` with int64 flat h*W + w indices per plane).

    Records the argmax indices only when a gradient is needed; otherwise runs the
    index-free kernel.
    """
    if return_indices:
        y = MaxPool2d.apply(input, kernel_size, stride, padding, dilation, ceil_mode)
        indices = y._ctx.indices if y._ctx is not None else ops.max_pool2d_with_indices(
            input.data if isinstance(input, Tensor) else input, kernel_size, stride, padding, dilation, ceil_mode)[1]
        return y, Tensor(indices)
    if isinstance(input, Tensor) and input.requires_grad and is_grad_enabled():
        return MaxPool2d.apply(input, kernel_size, stride, padding, dilation, ceil_mode)
    data = input.data if isinstance(input, Tensor) else input
    return Tensor(ops.max_pool2d(data, kernel_size, stride, padding, dilation, ceil_mode))


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling as torch.nn.functional.avg_pool2d (same arguments and order)."""
    return AvgPool2d.apply(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def adaptive_avg_pool2d(input, output_size):
    """Adaptive average pooling as torch.nn.functional.adaptive_avg_pool2d."""
    return AdaptiveAvgPool2d.apply(input, output_size)
