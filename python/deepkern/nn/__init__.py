"""deepkern.nn: layers and models as Modules, PyTorch-shaped (same class, argument and
state_dict names)."""
from .module import Module, Parameter
from .softmax import LogSoftmax, Softmax
from .normalization import BatchNorm1d, BatchNorm2d
from .dropout import Dropout
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
