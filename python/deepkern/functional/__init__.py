"""deepkern.functional: differentiable ops on Tensors (same names as deepkern.ops).

    import deepkern.functional as F
    y = F.relu(F.linear(x, w, b))
"""
from .activation import leaky_relu, relu, sigmoid, tanh
from .basic import exp, log, matmul, mean, reshape, sum, transpose
from .linear import linear
from .softmax import log_softmax, softmax
from .loss import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .norm import batch_norm
from .dropout import dropout
