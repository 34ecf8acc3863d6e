"""Differentiable batch normalization over deepkern.ops.norm."""
from __future__ import annotations

from .. import ops
from ..autograd import Function, Tensor


class BatchNorm(Function):
    def forward(self, x, weight=None, bias=None, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5):
        y, mean, invstd = ops.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
        self.save_for_backward(x, weight, mean, invstd)
        self.training = training
        return y

    def backward(self, grad):
        x, weight, mean, invstd = self.saved
        return ops.batch_norm_backward(grad, x, weight, mean, invstd, self.training)


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """Batch normalization of x (N, C, *) per channel, PyTorch's F.batch_norm.

    running_mean / running_var: (C,) arrays updated in place when training (or None: batch
    statistics only); weight, bias: (C,) Tensors or None. Differentiable wrt x, weight, bias.
    """
    running_mean = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    running_var = running_var.data if isinstance(running_var, Tensor) else running_var
    return BatchNorm.apply(x, weight, bias, running_mean=running_mean, running_var=running_var,
                           training=training, momentum=momentum, eps=eps)
