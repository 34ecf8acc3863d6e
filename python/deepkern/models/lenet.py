"""LeNet-5 (LeCun et al. 1998), the classic convolutional network:

    conv5x5(6) - pool2 - conv5x5(16) - pool2 - fc120 - fc84 - fc(num_classes)

    (N, 1, 28, 28) -conv1 p=2-> (N, 6, 28, 28) -pool-> (N, 6, 14, 14) -conv2-> (N, 16, 10, 10)
    -pool-> (N, 16, 5, 5) -flatten-> (N, 400) -> (N, 120) -> (N, 84) -> (N, num_classes)

The original saw 32x32 inputs; smaller inputs are zero-padded in conv1 to act like 32x32 (MNIST's
28x28 gets padding 2, as in most modern reproductions), larger ones grow the first fc layer.
The 1998 network used scaled tanh and trainable average pooling; ``activation='tanh',
pooling='avg'`` is that flavour, the default ReLU + max pooling trains faster.
"""
from __future__ import annotations

from .. import nn
from .mlp import make_activation

__all__ = ["LeNet"]


class LeNet(nn.Module):
    """LeNet-5. ``features`` (convs and pools) then ``classifier`` (three Linear layers).

    Args:
        num_classes: outputs (logits).
        in_channels: input image channels.
        input_size: input height and width (square).
        activation: 'relu' (default), 'tanh', 'sigmoid' or 'leaky_relu'.
        pooling: 'max' (default) or 'avg'.
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28, activation="relu", pooling="max"):
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ValueError(f"LeNet: pooling must be 'max' or 'avg', got {pooling!r}")
        pad = max(0, (33 - input_size) // 2)
        side = ((input_size + 2 * pad - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet: input_size {input_size} is too small (the second pool would be empty)")
        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad), make_activation("LeNet", activation), pool(2),
            nn.Conv2d(6, 16, 5), make_activation("LeNet", activation), pool(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * side * side, 120), make_activation("LeNet", activation),
            nn.Linear(120, 84), make_activation("LeNet", activation), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
