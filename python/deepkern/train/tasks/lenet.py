"""``deepkern train lenet``: LeNet-5 on handwritten digits.

By default it trains on the MNIST subset shipped inside deepkern (no network needed) and
reports accuracy on the official 10,000-image MNIST test set; ``--data mnist --data-dir DIR``
uses the full 60,000-image training set.
"""
from __future__ import annotations

from ._digits import DigitsTask


class Lenet(DigitsTask):
    help = "LeNet-5 on handwritten digits (MNIST subset shipped with deepkern, or full MNIST)"

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        p.add_argument("--activation", choices=["relu", "tanh"], default="relu",
                       help="relu (with max pooling) or the 1998 flavour tanh (with average pooling)")

    def build_model(self):
        from ...models import LeNet
        a = self.args.activation
        return LeNet(num_classes=10, in_channels=1, input_size=28, activation=a,
                     pooling="max" if a == "relu" else "avg")
