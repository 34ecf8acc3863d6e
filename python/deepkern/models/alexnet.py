"""AlexNet (Krizhevsky, Sutskever & Hinton 2012) in torchvision's single-tower form and
state_dict names (``features.0.weight`` ... ``classifier.6.bias``): 61,100,840 parameters at
3x224x224 with 1000 classes.

    (N, 3, 224, 224) -features-> (N, 256, 6, 6) -flatten-> (N, 9216) -classifier-> (N, 1000)

torchvision puts an adaptive average pool to 6x6 between the two; here the classifier's input
size follows ``input_size`` instead (at 224 the pool is the identity, so the two agree, weights
included). The smallest input is 63x63 (a 1x1 final map).
"""
from __future__ import annotations

from .. import nn

__all__ = ["AlexNet"]


def _conv_out(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride + 1


class AlexNet(nn.Module):
    """Args: ``num_classes``, ``in_channels``, ``input_size`` (square), ``dropout`` (before
    the two hidden fully connected layers)."""

    def __init__(self, num_classes=1000, in_channels=3, input_size=224, dropout=0.5):
        super().__init__()
        side = _conv_out(input_size, 11, 4, 2)
        for _ in range(3):                       # three 3x3/2 max pools; the 5x5 and 3x3 convs keep the size
            side = _conv_out(side, 3, 2)
        if side < 1:
            raise ValueError(f"AlexNet: input_size must be >= 63, got {input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * side * side, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes))
        self.flatten = nn.Flatten()

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))
