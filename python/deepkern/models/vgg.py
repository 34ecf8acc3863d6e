"""VGG (Simonyan & Zisserman 2014) in torchvision's structure and state_dict names: configs
A/B/D/E = VGG11/13/16/19, optional batch norm. VGG16 (config D) has 138,357,544 parameters at
3x224x224 with 1000 classes.

    (N, 3, 224, 224) -features: 13 conv3x3 + ReLU, 5 max pools-> (N, 512, 7, 7)
    -flatten-> (N, 25088) -classifier: fc4096, fc4096, fc(num_classes)-> (N, num_classes)

As in AlexNet here, the classifier's input follows ``input_size`` (a multiple of 32, >= 32)
instead of torchvision's adaptive 7x7 average pool; at 224 the two are the same network.
Init as torchvision: convs kaiming-normal (fan_out, relu), linears N(0, 0.01), biases 0.
``classifier=False`` builds the convolution trunk alone (``features``; what style transfer and
other feature extractors use). ``vgg16(weights=PATH)`` loads pretrained weights (see
deepkern.models.pretrained: the conv trunk converted offline, or a torchvision state_dict).
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
    conv, torchvision's vgg*_bn), ``dropout`` (in the classifier), ``classifier`` (False: the
    conv trunk only; forward then returns the last pool's (N, 512, H/32, W/32) for any H, W)."""

    def __init__(self, cfg="D", num_classes=1000, in_channels=3, input_size=224, batch_norm=False, dropout=0.5,
                 classifier=True):
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
        self.features = nn.Sequential(*layers)
        self.has_classifier = bool(classifier)
        if not classifier:
            return
        if side < 1:
            raise ValueError(f"VGG: input_size {input_size} is too small for {cfg.count('M')} pools")
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
        if not self.has_classifier:
            return self.features(x)
        return self.classifier(self.flatten(self.features(x)))


def vgg11(**kwargs) -> VGG:
    return VGG("A", **kwargs)


def vgg13(**kwargs) -> VGG:
    return VGG("B", **kwargs)


def vgg16(weights=None, **kwargs) -> VGG:
    """VGG16 (config D). ``weights``: None (random init) or the path of a VGG16 weights .npz
    (``deepkern weights`` writes one; a torchvision state_dict saved with NumPy works too).
    Weights of the conv trunk alone need ``classifier=False``."""
    state = None
    if weights is not None:  # read and checked before the (large) model is built
        from .pretrained import load_vgg16_weights

        state, _ = load_vgg16_weights(weights)
        if kwargs.get("classifier", True):
            if not any(k.startswith("classifier.") for k in state):
                raise ValueError(f"vgg16: {weights} holds the convolutions only; build with classifier=False")
        else:
            state = {k: v for k, v in state.items() if k.startswith("features.")}
    model = VGG("D", **kwargs)
    if state is not None:
        model.load_state_dict(state)
    return model


def vgg19(**kwargs) -> VGG:
    return VGG("E", **kwargs)
