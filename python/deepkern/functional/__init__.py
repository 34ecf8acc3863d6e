"""deepkern.functional: differentiable ops on Tensors (same names as deepkern.ops).

    import deepkern.functional as F
    y = F.relu(F.linear(x, w, b))
"""
from .activation import leaky_relu, relu, sigmoid, tanh
from .basic import (abs, argmax, argmin, broadcast_to, cat, chunk, clamp, exp, expand, flatten, log, matmul,
                    max, maximum, mean, min, minimum, reshape, split, sqrt, squeeze, stack, sum,
                    transpose, unsqueeze, where)
from .embedding import embedding
from .linear import linear
from .attention import scaled_dot_product_attention
from .conv import conv2d, conv_transpose2d
from .pool import adaptive_avg_pool2d, avg_pool2d, max_pool2d
from .softmax import log_softmax, softmax
from .loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, huber_loss, mse_loss,
                   nll_loss, smooth_l1_loss, total_variation_loss)
from .gram import gram_matrix
from .norm import batch_norm
from .dropout import dropout
from .rnn import (coupled_lstm_cell, gru, gru_cell, lstm, lstm_cell, peephole_lstm_cell, rnn, rnn_cell,
                  simple_gru_cell)
from .distance import cdist, normalize, pairwise_distance
from .metric_loss import batch_triplet_loss, contrastive_loss, triplet_margin_loss
