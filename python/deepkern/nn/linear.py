"""Fully connected and shape layers: Linear, Identity, Flatten."""
from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to drop a model's head)."""

    def forward(self, x):
        return x


class Linear(Module):
    """y = x @ weight.T + bias.

    Shapes: x (*, in_features) -> y (*, out_features); weight (out_features, in_features) and
    bias (out_features,) as in PyTorch. Init as PyTorch: weight ~ kaiming_uniform(a=sqrt(5)),
    i.e. U(-1/sqrt(in), 1/sqrt(in)), bias ~ U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        if self.in_features < 0 or self.out_features < 0:
            raise ValueError(f"Linear: in_features and out_features must be >= 0, got "
                             f"{in_features} and {out_features}")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            got = x.shape[-1] if x.ndim else "no"
            raise ValueError(f"{self!r}: input has {got} features, expected {self.in_features} "
                             f"(input shape {tuple(x.shape)})")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"{self!r}: input is {x.dtype} but the weights are {self.weight.dtype} "
                            "(cast the input, or the module with .double()/.float())")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merges dims start_dim..end_dim: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
