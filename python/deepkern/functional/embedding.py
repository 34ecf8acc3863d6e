"""Differentiable embedding lookup over deepkern.ops.embedding."""
from __future__ import annotations

from .. import ops
from ..autograd import Function, Tensor


class Embedding(Function):
    def forward(self, weight, ids, padding_idx=None):
        out = ops.embedding(weight, ids)  # checks weight (V, D) and ids first
        self.ids, self.num_embeddings, self.padding_idx = ids, weight.shape[0], padding_idx
        return out

    def backward(self, grad):
        return ops.embedding_backward(grad, self.ids, self.num_embeddings, self.padding_idx), None


def embedding(weight, ids, padding_idx=None):
    """Rows of ``weight`` (V, D) for integer ``ids`` of any shape S: a (*S, D) Tensor.

    Argument order as ``deepkern.ops.embedding`` (weight first). ``ids`` is an integer array or
    Tensor (not differentiated); the ``padding_idx`` row receives no gradient.
    """
    if isinstance(ids, Tensor):
        ids = ids.data
    return Embedding.apply(weight, ids, padding_idx=padding_idx)
