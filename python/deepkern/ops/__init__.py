"""deepkern.ops: array-level kernels. NumPy arrays in -> CPU kernels -> NumPy arrays out;
CuPy arrays in -> CUDA kernels on CuPy's current stream -> CuPy arrays out. No autograd."""
from .activation import (leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid,
                         sigmoid_backward, tanh, tanh_backward)
from .gemm import linear, linear_backward, matmul
from .embedding import embedding, embedding_backward
from .optim import adam_step, rmsprop_step, sgd_step
