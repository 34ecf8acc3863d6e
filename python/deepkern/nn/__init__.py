"""deepkern.nn: layers and models as Modules, PyTorch-shaped (same class, argument and
state_dict names)."""
from . import init, utils
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .embedding import Embedding
from .linear import Flatten, Identity, Linear
from .module import Module, Parameter
from .conv import Conv2d, ConvTranspose2d
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .softmax import LogSoftmax, Softmax
from .normalization import BatchNorm1d, BatchNorm2d
from .dropout import Dropout
from .loss import (BatchTripletLoss, BCELoss, BCEWithLogitsLoss, ContrastiveLoss, CrossEntropyLoss, HuberLoss,
                   MSELoss, NLLLoss, SmoothL1Loss, TripletMarginLoss)
from .distance import PairwiseDistance
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
