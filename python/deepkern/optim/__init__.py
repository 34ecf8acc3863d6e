"""deepkern.optim: optimizers with fused update kernels, and learning-rate schedules
(PyTorch's names, options and update rules)."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD
