"""Pure-NumPy embedding: the ground truth for deepkern.ops.embedding."""
import numpy as np


def embedding(weight, ids):
    return weight[ids]


def embedding_backward(grad_out, ids, num_embeddings, padding_idx=None):
    grad_weight = np.zeros((num_embeddings, grad_out.shape[-1]), dtype=grad_out.dtype)
    np.add.at(grad_weight, ids.reshape(-1), grad_out.reshape(ids.size, grad_out.shape[-1]))
    if padding_idx is not None:
        grad_weight[padding_idx] = 0
    return grad_weight
