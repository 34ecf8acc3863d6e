"""``deepkern train mlp``: the course's deep feed-forward network on handwritten digits
(784 -> hidden layers -> 10), with the same data and options as ``deepkern train lenet``."""
from __future__ import annotations

from ._digits import add_common_arguments, run_classifier

HELP = "a deep feed-forward network (MLP) on handwritten digits"


def add_arguments(parser):
    add_common_arguments(parser, epochs=8)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 128], help="hidden layer widths")
    parser.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "leaky_relu"], default="relu")
    parser.add_argument("--dropout", type=float, default=0.0)


def run(args) -> int:
    import deepkern as dk
    from ...models import MLP

    dk.manual_seed(args.seed)
    model = MLP([784, *args.hidden, 10], activation=args.activation, dropout=args.dropout)
    return run_classifier(args, model)
