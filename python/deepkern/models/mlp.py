"""MLP: the course's deep feed-forward network.

    MLP([784, 256, 128, 10])   # (N, 784) or (N, 1, 28, 28) -> (N, 10) logits

Layer l computes a[l] = g(W[l] a[l-1] + b[l]) (course notation; here on row batches,
x @ W.T + b with W of shape (n[l], n[l-1]) as in PyTorch); the last layer is linear (logits:
pair it with cross_entropy). Inputs with more than two dims are flattened after the batch dim.
"""
from __future__ import annotations

from .. import nn

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU}


def make_activation(op, name):
    """A fresh activation module by name (``ACTIVATIONS``)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class MLP(nn.Module):
    """Fully connected network with layer sizes ``sizes`` = [n_in, hidden..., n_out].

    Args:
        sizes: at least two layer widths; ``len(sizes) - 1`` Linear layers.
        activation: hidden activation, one of 'relu', 'tanh', 'sigmoid', 'leaky_relu'.
        dropout: dropout probability after each hidden activation (0 disables it).

    ``layers`` is a Sequential: Flatten, then (Linear, activation[, Dropout]) per hidden layer,
    then the output Linear. Shapes: (N, *) -> (N, sizes[-1]).
    """

    def __init__(self, sizes, activation="relu", dropout=0.0):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP: sizes must list at least two positive widths, got {sizes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1), got {dropout}")
        layers = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(n_in, n_out), make_activation("MLP", activation)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.sizes = sizes
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)

    def extra_repr(self):
        return f"sizes={self.sizes}"
