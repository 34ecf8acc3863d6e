"""``deepkern train mlp``: the course's deep feed-forward network on handwritten digits
(784 -> hidden layers -> 10), with the same data and options as ``deepkern train lenet``."""
from __future__ import annotations

from ...cli import fraction, positive_int
from ._digits import DigitsTask


class Mlp(DigitsTask):
    help = "a deep feed-forward network (MLP) on handwritten digits"

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        p.add_argument("--hidden", type=positive_int, nargs="+", default=[256, 128], help="hidden layer widths")
        p.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "leaky_relu"], default="relu")
        p.add_argument("--dropout", type=fraction, default=0.0, help="dropout probability after each hidden layer")

    def build_model(self):
        from ...models import MLP
        return MLP([784, *self.args.hidden, 10], activation=self.args.activation, dropout=self.args.dropout)
