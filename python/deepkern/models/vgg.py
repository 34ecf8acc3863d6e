"""VGG (Simonyan & Zisserman 2014) in torchvision's structure and state_dict names: configs
A/B/D/E = VGG11/13/16/19, optional batch norm. VGG16 (config D) has 138,357,544 parameters at
3x224x224 with 1000 classes.

    (N, 3, 224, 224) -features: 13 conv3x3 + ReLU, 5 max pools-> (N, 512, 7, 7)
    -flatten-> (N, 25088) -classifier: fc4096, fc4096, fc(num_classes)-> (N, num_classes)

As in AlexNet here, the classifier's input follows ``input_size`` (a multiple of 32, >= 32)
instead of torchvision's adaptive 7x7 average pool; at 224 the two are the same network.
Init as torchvision: convs kaiming-normal (fan_out, relu), linears N(0, 0.01), biases 0.
"""
from __future__ import annotations

from .. import nn
from ..nn import init

__all__ = ["VGG", "CONFIGS", "vgg11", "vgg13", "vgg16", "vgg19"]

CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    """Args: ``cfg`` (a key of CONFIGS or a list of widths and 'M' for max pool),
    ``num_classes``, ``in_channels``, ``input_size``, ``batch_norm`` (BatchNorm2d after every
    conv, torchvision's vgg*_bn), ``dropout`` (in the classifier)."""

    def __init__(self, cfg="D", num_classes=1000, in_channels=3, input_size=224, batch_norm=False, dropout=0.5):
        super().__init__()
        cfg = CONFIGS[cfg] if isinstance(cfg, str) else list(cfg)
        side = input_size
        layers, channels = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                side //= 2
                continue
            conv = nn.Conv2d(channels, v, 3, padding=1)
            init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            init.zeros_(conv.bias)
            layers += [conv, nn.BatchNorm2d(v), nn.ReLU()] if batch_norm else [conv, nn.ReLU()]
            channels = v
        if side < 1:
            raise ValueError(f"VGG: input_size {input_size} is too small for {cfg.count('M')} pools")
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(channels * side * side, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes))
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                init.normal_(m.weight, 0.0, 0.01)
                init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def vgg11(**kwargs) -> VGG:
    return VGG("A", **kwargs)


def vgg13(**kwargs) -> VGG:
    return VGG("B", **kwargs)


def vgg16(**kwargs) -> VGG:
    return VGG("D", **kwargs)


def vgg19(**kwargs) -> VGG:
    return VGG("E", **kwargs)
