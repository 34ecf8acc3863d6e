"""deepkern.nn: layers and models as Modules, PyTorch-shaped (same class, argument and
state_dict names)."""
from .module import Module, Parameter
from .softmax import LogSoftmax, Softmax
