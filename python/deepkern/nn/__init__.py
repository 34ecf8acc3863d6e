"""deepkern.nn: layers and models as Modules, PyTorch-shaped (same class, argument and
state_dict names)."""
from .module import Module, Parameter
from .conv import Conv2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
