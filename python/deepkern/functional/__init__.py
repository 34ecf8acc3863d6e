"""deepkern.functional: differentiable ops on Tensors (same names as deepkern.ops).

    import deepkern.functional as F
    y = F.relu(F.linear(x, w, b))
"""
from .activation import leaky_relu, relu, sigmoid, tanh
from .basic import exp, log, matmul, mean, reshape, sum, transpose
from .linear import linear
from .attention import scaled_dot_product_attention
