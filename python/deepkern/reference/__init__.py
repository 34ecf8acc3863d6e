"""deepkern.reference: pure-NumPy versions of every op in deepkern.ops, with the same names.
The ground truth for tests and the baseline for benchmarks; never on the package's hot path."""
from .activation import (leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid,
                         sigmoid_backward, tanh, tanh_backward)
from .gemm import linear, linear_backward, matmul
from .rnn import (coupled_lstm_cell, peephole_lstm_cell, simple_gru_cell, gru_backward, gru_cell, gru_cell_backward, gru_forward, lstm_backward, lstm_cell,
                  lstm_cell_backward, lstm_forward, rnn_backward, rnn_cell, rnn_cell_backward, rnn_forward)
