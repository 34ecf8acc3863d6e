"""Embedding layer: a (num_embeddings, embedding_dim) lookup table."""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .._backend import is_array
from ..autograd import Tensor
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """Looks up rows of ``weight`` (num_embeddings, embedding_dim) by integer ids.

    Shapes: ids (*S) integers in [0, num_embeddings) -> (*S, embedding_dim). Initialized
    N(0, 1) as PyTorch. The row ``padding_idx`` (if given; negative counts from the end) starts
    at zero and never receives a gradient, so it stays zero under any optimizer without weight
    decay.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if self.num_embeddings < 0 or self.embedding_dim < 0:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be >= 0, got "
                             f"{num_embeddings} and {embedding_dim}")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be in [-{self.num_embeddings}, "
                                 f"{self.num_embeddings}), got {padding_idx}")
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None) -> "Embedding":
        """An Embedding whose weight is a copy of ``embeddings`` (V, D) (array or Tensor); with
        ``freeze`` the weight gets no gradient (``requires_grad=False``)."""
        data = embeddings.data if isinstance(embeddings, Tensor) else embeddings
        if not is_array(data) or data.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be a 2-D array "
                             f"(num_embeddings, embedding_dim), got {getattr(data, 'shape', type(data).__name__)}")
        layer = cls(data.shape[0], data.shape[1], padding_idx=padding_idx, dtype=data.dtype)
        layer.weight = Parameter(data.copy(), requires_grad=not freeze)
        return layer

    def forward(self, ids):
        return F.embedding(self.weight, ids, self.padding_idx)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
