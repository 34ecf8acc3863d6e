"""Face verification and one-shot identification metrics on a set's distance matrix (NumPy).

Everything starts from ``dist`` (n, n), the distances between the n images of a set (e.g.
``ops.cdist(emb, emb)`` of embeddings, or any dissimilarity a model scores pairs with), and
their identity labels (n,). Verification asks "same person?" of a pair, scored by
``-distance`` (higher = more alike): :func:`verification_pairs` lists every pair of the set,
:func:`roc_curve` / :func:`roc_auc`
summarize how well the score separates same-person from different-person pairs, and
:func:`best_threshold` picks the distance threshold that maximizes the balanced accuracy (the
mean of the accuracies on same and on different pairs; there are ~10x more different pairs, so
plain accuracy would reward answering "different" always). :func:`one_shot_accuracy` is
N-way identification from one gallery image per person.
"""
from __future__ import annotations

import numpy as np

__all__ = ["verification_pairs", "roc_curve", "roc_auc", "best_threshold", "balanced_accuracy",
           "one_shot_accuracy"]


def _host(x):
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def _dist_labels(op, dist, labels):
    dist = np.asarray(_host(dist), dtype=np.float64)
    labels = _host(labels)
    n = len(labels)
    if labels.ndim != 1 or dist.shape != (n, n):
        raise ValueError(f"{op}: dist must be the (n, n) distance matrix of the n = {n} labelled images, got "
                         f"dist of shape {dist.shape} and labels of shape {labels.shape}")
    return dist, labels


def verification_pairs(dist, labels):
    """Distances and same-identity flags of every unordered pair (i < j) of a set:
    ((n*(n-1)/2,) float64, (n*(n-1)/2,) bool) from its distance matrix dist (n, n) and labels (n,)."""
    dist, labels = _dist_labels("verification_pairs", dist, labels)
    i, j = np.triu_indices(len(labels), k=1)
    return dist[i, j], labels[i] == labels[j]


def _check_scores(op, scores, same):
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    if scores.shape != same.shape or scores.ndim != 1:
        raise ValueError(f"{op}: scores and same must be 1-D of one length, got {scores.shape} and {same.shape}")
    if same.all() or not same.any():
        raise ValueError(f"{op}: need both same and different pairs, got {int(same.sum())} same of {same.size}")
    return scores, same


def roc_curve(scores, same):
    """(fpr, tpr, thresholds) of the rule "same if score >= threshold", thresholds decreasing
    over the distinct scores (plus +inf first: no pair accepted), as scikit-learn's."""
    scores, same = _check_scores("roc_curve", scores, same)
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each distinct score
    tp, fp = np.cumsum(y)[last], np.cumsum(~y)[last]
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (~y).sum()]
    return fpr, tpr, np.r_[np.inf, s[last]]


def roc_auc(scores, same):
    """Area under the ROC curve: the probability that a random same pair scores above a random
    different pair (ties count one half), by ranks (Mann-Whitney U)."""
    scores, same = _check_scores("roc_auc", scores, same)
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.size, np.float64)
    s = scores[order]
    start = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    stop = np.r_[start[1:], s.size]
    ranks[order] = np.repeat((start + stop + 1) / 2.0, stop - start)  # average 1-based ranks of ties
    n_pos, n_neg = same.sum(), (~same).sum()
    return float((ranks[same].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced_accuracy(distances, same, threshold):
    """Mean of the accuracies on same pairs (distance <= threshold) and different pairs (> threshold)."""
    distances, same = _check_scores("balanced_accuracy", distances, same)
    accept = distances <= threshold
    return float((accept[same].mean() + (~accept[~same]).mean()) / 2)


def best_threshold(distances, same):
    """The distance threshold (accept pairs with distance <= threshold) with the highest balanced
    accuracy on these pairs; the midpoint between the two distances it separates."""
    distances, same = _check_scores("best_threshold", distances, same)
    order = np.argsort(distances, kind="stable")
    d, y = distances[order], same[order]
    # accepting the first k pairs (k = 0..n): TPR_k = same accepted / same, TNR_k = different rejected / different
    tpr = np.r_[0, np.cumsum(y)] / y.sum()
    tnr = 1 - np.r_[0, np.cumsum(~y)] / (~y).sum()
    valid = np.r_[True, d[1:] != d[:-1], True]  # cut only between distinct distances
    k = int(np.argmax(np.where(valid, (tpr + tnr) / 2, -1)))
    if k == 0:
        return float(d[0]) - 1.0
    if k == d.size:
        return float(d[-1])
    return float((d[k - 1] + d[k]) / 2)


def one_shot_accuracy(dist, labels, seed=0):
    """One-shot N-way identification accuracy from a set's distance matrix dist (n, n): for each
    round r, image r of each person (in a seeded shuffle of that person's images) is the
    gallery, every other image a probe, matched to the nearest gallery image; the mean over as
    many rounds as the smallest person has images (each image is the gallery once). Returns
    (mean accuracy, per-round accuracies)."""
    dist, labels = _dist_labels("one_shot_accuracy", dist, labels)
    ids = np.unique(labels)
    if ids.size < 2:
        raise ValueError(f"one_shot_accuracy: need at least two people, got {ids.size}")
    rng = np.random.default_rng(seed)
    members = [rng.permutation(np.flatnonzero(labels == i)) for i in ids]
    rounds = min(len(m) for m in members)
    if rounds < 2:
        raise ValueError("one_shot_accuracy: every person needs at least two images (a gallery and a probe)")
    accs = []
    for r in range(rounds):
        gallery = np.array([m[r] for m in members])
        probes = np.setdiff1d(np.arange(len(labels)), gallery)
        nearest = np.argmin(dist[np.ix_(probes, gallery)], axis=1)
        accs.append(float(np.mean(ids[nearest] == labels[probes])))
    return float(np.mean(accs)), accs
