"""deepkern.reference: pure-NumPy versions of every op in deepkern.ops, with the same names.
The ground truth for tests and the baseline for benchmarks; never on the package's hot path."""
from .activation import (leaky_relu, leaky_relu_backward, relu, relu_backward, sigmoid,
                         sigmoid_backward, tanh, tanh_backward)
from .gemm import linear, linear_backward, matmul
from .embedding import embedding, embedding_backward
from .optim import adam_step, rmsprop_step, sgd_step
from .conv import conv2d, conv2d_backward, conv_transpose2d, conv_transpose2d_backward
from .pool import (adaptive_avg_pool2d, adaptive_avg_pool2d_backward, avg_pool2d, avg_pool2d_backward,
                   max_pool2d, max_pool2d_backward, max_pool2d_with_indices)
from .gram import gram_matrix, gram_matrix_backward
from .softmax import log_softmax, log_softmax_backward, softmax, softmax_backward
from .loss import (binary_cross_entropy, binary_cross_entropy_backward, binary_cross_entropy_with_logits,
                   binary_cross_entropy_with_logits_backward, cross_entropy, cross_entropy_backward,
                   cross_entropy_forward, huber_loss, huber_loss_backward, mse_loss, mse_loss_backward, nll_loss,
                   nll_loss_backward, smooth_l1_loss, smooth_l1_loss_backward)
from .norm import batch_norm, batch_norm_backward
from .activation import dropout, dropout_backward
from .boxes import batched_nms, box_iou, nms
from .attention import scaled_dot_product_attention, scaled_dot_product_attention_backward
from .rnn import (coupled_lstm_cell, peephole_lstm_cell, simple_gru_cell, gru_backward, gru_cell, gru_cell_backward, gru_forward, lstm_backward, lstm_cell,
                  lstm_cell_backward, lstm_forward, rnn_backward, rnn_cell, rnn_cell_backward, rnn_forward)
from .word2vec import word2vec_train
from .glove import glove_cooccurrence, glove_train
from .distance import cdist, cdist_backward, pairwise_distance, pairwise_distance_backward
from .metric_loss import (batch_triplet_loss, batch_triplet_loss_backward, batch_triplet_loss_forward,
                          contrastive_loss, contrastive_loss_backward, contrastive_loss_forward, triplet_mining,
                          triplet_mining_backward)
