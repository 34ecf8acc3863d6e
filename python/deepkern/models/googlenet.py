"""GoogLeNet / Inception v1 (Szegedy et al. 2014) in torchvision's structure and state_dict
names, without the auxiliary classifiers: 6,624,904 parameters at 3x224x224, 1000 classes.

    (N, 3, 224, 224) -conv1 7x7/2, pool-> 56x56 -conv2 1x1, conv3 3x3, pool-> (N, 192, 28, 28)
    -inception3a, 3b, pool-> (N, 480, 14, 14) -inception4a..4e, pool-> (N, 832, 7, 7)
    -inception5a, 5b-> (N, 1024, 7, 7) -global average pool, dropout 0.2, fc-> (N, num_classes)

An Inception module runs four branches on the same input and concatenates them on channels:
1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | 3x3 max pool -> 1x1. Every conv is ``BasicConv2d`` (conv
without bias, BatchNorm with eps 1e-3, ReLU), as in torchvision -- including torchvision's 3x3
(not the paper's 5x5) conv in the third branch, which its pretrained weights and parameter count
depend on.

The max pools are torchvision's exactly, ceil_mode=True included (3x3/2 without padding: 112 ->
56 -> 28 -> 14, the 2x2/2 before inception5a 14 -> 7, the branch pools 3x3/1 with padding 1),
so every window, and with torchvision's weights every output, matches torchvision's.
Init as torchvision: conv and fc weights N(0, 0.01) (torchvision truncates at +-2, i.e. 200
standard deviations: never binding), BatchNorm weight 1 and bias 0.
"""
from __future__ import annotations

from .. import functional as F
from .. import nn
from ..nn import init

__all__ = ["GoogLeNet", "Inception", "BasicConv2d"]


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm2d(eps=1e-3) -> ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """(N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1),
                                     BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, 3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, 1))

    def forward(self, x):
        return F.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], axis=1)


class GoogLeNet(nn.Module):
    """Args: ``num_classes``, ``in_channels``, ``dropout`` (before fc). Any input >= 32x32."""

    def __init__(self, num_classes=1000, in_channels=3, dropout=0.2):
        super().__init__()
        self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                init.normal_(m.weight, 0.0, 0.01)
            elif isinstance(m, nn.BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        return self.fc(self.dropout(self.flatten(self.avgpool(x))))
