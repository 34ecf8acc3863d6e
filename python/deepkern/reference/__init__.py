"""deepkern.reference: pure-NumPy versions of every op in deepkern.ops, with the same names.
The ground truth for tests and the baseline for benchmarks; never on the package's hot path."""
from .activation import (leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid,
                         sigmoid_backward, tanh, tanh_backward)
from .gemm import linear, linear_backward, matmul
from .embedding import embedding, embedding_backward
from .optim import adam_step, rmsprop_step, sgd_step
