"""``deepkern train lenet``: LeNet-5 on handwritten digits.

By default it trains on the MNIST subset shipped inside deepkern (no network needed) and
reports accuracy on the official 10,000-image MNIST test set; ``--data mnist --data-dir DIR``
uses the full 60,000-image training set.
"""
from __future__ import annotations

from ._digits import add_common_arguments, run_classifier

HELP = "LeNet-5 on handwritten digits (MNIST subset shipped with deepkern, or full MNIST / Fashion-MNIST)"


def add_arguments(parser):
    add_common_arguments(parser, epochs=8)
    parser.add_argument("--activation", choices=["relu", "tanh"], default="relu",
                        help="relu (with max pooling) or the 1998 flavour tanh (with average pooling)")


def run(args) -> int:
    import deepkern as dk
    from ...models import LeNet

    dk.manual_seed(args.seed)
    model = LeNet(num_classes=10, in_channels=1, input_size=28, activation=args.activation,
                  pooling="max" if args.activation == "relu" else "avg")
    return run_classifier(args, model)
