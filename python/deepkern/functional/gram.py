"""Differentiable Gram matrix over deepkern.ops.gram_matrix."""
from __future__ import annotations

from .. import ops
from ..autograd import Function


class GramMatrix(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return ops.gram_matrix(x)

    def backward(self, grad):
        (x,) = self.saved
        return ops.gram_matrix_backward(grad, x)


def gram_matrix(x):
    """G[n] = F[n] @ F[n].T / (C*H*W), F[n] = x[n].reshape(C, H*W): x (N, C, H, W) -> (N, C, C)."""
    return GramMatrix.apply(x)
