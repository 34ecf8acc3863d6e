"""The vocabulary tables word2vec's kernels read (see csrc/core/word2vec_sampling.h):

    keep_thresholds(counts, sample)        -> (V,) int64   subsampling, probability * 2^32
    noise_table(counts, ns_exponent=0.75)  -> (V,) int64, (V,) int32   alias table of count^0.75
    huffman_tree(counts)                   -> points (V, L) int32, codes (V, L) uint8, lengths (V,) int32

``counts`` is the (V,) array of word frequencies, most frequent first (Word2Vec's order).
"""
from __future__ import annotations

import numpy as np

__all__ = ["keep_thresholds", "noise_table", "huffman_tree", "ONE"]

ONE = 2**32  # probability 1 on the kernels' 32-bit scale


def _as_probability(p):
    return np.minimum(np.floor(np.asarray(p, dtype=np.float64) * ONE), ONE).astype(np.int64)


def keep_thresholds(counts, sample):
    """gensim's (and word2vec.c's) subsampling of frequent words: an occurrence of a word seen
    v times is kept with probability min(1, (sqrt(v / t) + 1) * t / v), t = sample * (total count);
    ``sample`` >= 1 means t = sample * (3 + sqrt 5) / 2 (gensim's shorthand), 0 keeps every word."""
    counts = np.asarray(counts, dtype=np.float64)
    if not sample:
        return np.full(len(counts), ONE, dtype=np.int64)
    t = sample * counts.sum() if sample < 1.0 else float(int(sample * (3 + np.sqrt(5)) / 2))
    prob = (np.sqrt(counts / t) + 1) * (t / counts)
    return _as_probability(np.minimum(prob, 1.0))


def noise_table(counts, ns_exponent=0.75):
    """Walker's alias table (Vose's construction) of P(w) proportional to count(w)^ns_exponent:
    bucket b is drawn uniformly, then b itself with probability threshold[b] / 2^32, else
    alias[b]. Returns (threshold int64, alias int32)."""
    weights = np.asarray(counts, dtype=np.float64) ** float(ns_exponent)
    V = len(weights)
    scaled = weights * (V / weights.sum())  # mean 1
    prob = np.ones(V)
    alias = np.arange(V, dtype=np.int32)
    small = [i for i in range(V) if scaled[i] < 1.0]
    large = [i for i in range(V) if scaled[i] >= 1.0]
    while small and large:
        s, l = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], l
        scaled[l] -= 1.0 - scaled[s]
        (small if scaled[l] < 1.0 else large).append(l)
    for i in small + large:  # rounding leftovers: probability 1
        prob[i] = 1.0
    return _as_probability(prob), alias


def huffman_tree(counts):
    """The Huffman tree of the counts, as word2vec.c builds it for hierarchical softmax.

    Leaves are the words 0..V-1, inner nodes V..2V-2 (the root is 2V-2), each merge joining the
    two smallest weights (the smaller gets bit 0, the other bit 1). Word w's path from the root:
    ``points[w, :lengths[w]]`` are the inner nodes passed (as rows 0..V-2 of syn1) and
    ``codes[w, :lengths[w]]`` the bit of the branch taken at each. Frequent words get short
    codes: the expected code length is minimal for these counts.
    """
    counts = np.asarray(counts, dtype=np.int64)
    V = len(counts)
    if V == 0:
        return np.zeros((0, 0), np.int32), np.zeros((0, 0), np.uint8), np.zeros(0, np.int32)
    if np.any(np.diff(counts) > 0):
        raise ValueError("huffman_tree: counts must be sorted in decreasing order")
    weight = np.concatenate([counts, np.zeros(V - 1, dtype=np.int64)])
    parent = np.zeros(2 * V - 1, dtype=np.int64)
    bit = np.zeros(2 * V - 1, dtype=np.uint8)
    # Two queues in increasing weight: the leaves (from the end) and the merged nodes (in the
    # order they are made, which is increasing too); each merge takes the two smallest fronts.
    leaf, inner = V - 1, V
    for node in range(V, 2 * V - 1):
        pair = []
        for _ in range(2):
            if leaf >= 0 and (inner >= node or weight[leaf] < weight[inner]):
                pair.append(leaf)
                leaf -= 1
            else:
                pair.append(inner)
                inner += 1
        weight[node] = weight[pair[0]] + weight[pair[1]]
        parent[pair[0]], parent[pair[1]] = node, node
        bit[pair[1]] = 1
    # Walk every word up to the root at once, one level per step.
    root = 2 * V - 2
    up_points, up_codes = [], []
    cur = np.arange(V)
    lengths = np.zeros(V, dtype=np.int32)
    while True:
        live = cur != root
        if not live.any():
            break
        up_codes.append(np.where(live, bit[cur], 0))
        up_points.append(np.where(live, parent[cur] - V, 0))
        lengths += live
        cur = np.where(live, parent[cur], cur)
    L = len(up_codes)
    points = np.zeros((V, L), dtype=np.int32)
    codes = np.zeros((V, L), dtype=np.uint8)
    if L:
        up_points, up_codes = np.stack(up_points, axis=1), np.stack(up_codes, axis=1)  # leaf first
        # Reverse each word's first lengths[w] entries so the path starts at the root.
        j = np.arange(L)[None, :]
        src = lengths[:, None] - 1 - j
        valid = src >= 0
        rows = np.arange(V)[:, None]
        points[valid] = up_points[np.broadcast_to(rows, (V, L))[valid], src[valid]]
        codes[valid] = up_codes[np.broadcast_to(rows, (V, L))[valid], src[valid]]
    return points, codes, lengths
