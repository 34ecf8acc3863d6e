"""Verification metrics: ROC, AUC, the train-chosen threshold, one-shot identification."""
import numpy as np
import pytest

from deepkern import ops
from deepkern.metrics import (balanced_accuracy, best_threshold, one_shot_accuracy, roc_auc, roc_curve,
                              verification_pairs)


def test_roc_auc_by_hand_and_ties():
    same = np.array([True, True, False, False, False])
    assert roc_auc([0.9, 0.8, 0.7, 0.1, 0.2], same) == 1.0
    assert roc_auc([0.1, 0.2, 0.7, 0.9, 0.8], same) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5, 0.5], same) == 0.5          # ties count one half
    assert roc_auc([0.9, 0.3, 0.5, 0.1, 0.2], same) == pytest.approx(5 / 6)  # 0.3 loses to 0.5 only
    fpr, tpr, thr = roc_curve([0.9, 0.3, 0.5, 0.1, 0.2], same)
    np.testing.assert_allclose(fpr, [0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1, 1])
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)
    with pytest.raises(ValueError, match=r"roc_auc: need both same and different pairs, got 2 same of 2"):
        roc_auc([1, 2], [True, True])


def test_roc_matches_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    same = rng.random(500) < 0.2
    scores = np.round(rng.standard_normal(500) + same, 1)  # with ties
    assert roc_auc(scores, same) == pytest.approx(metrics.roc_auc_score(same, scores), abs=1e-12)
    fpr, tpr, thr = roc_curve(scores, same)
    f2, t2, th2 = metrics.roc_curve(same, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2)
    np.testing.assert_allclose(tpr, t2)
    np.testing.assert_allclose(thr[1:], th2[1:])


def test_best_threshold_maximizes_balanced_accuracy():
    rng = np.random.default_rng(1)
    same = rng.random(300) < 0.1
    d = rng.random(300) + np.where(same, 0.0, 0.4)
    t = best_threshold(d, same)
    best = balanced_accuracy(d, same, t)
    for other in np.unique(d):  # no cut between distinct distances does better
        assert balanced_accuracy(d, same, other) <= best + 1e-12
    assert best_threshold([1.0, 2.0, 3.0, 4.0], [True, True, False, False]) == 2.5
    assert balanced_accuracy([1.0, 2.0, 3.0, 4.0], [True, False, False, False], 2.5) == pytest.approx((1 + 2 / 3) / 2)


def test_verification_pairs_and_one_shot():
    labels = np.repeat(np.arange(4), 3)
    rng = np.random.default_rng(2)
    emb = np.eye(4)[labels] * 5 + rng.standard_normal((12, 4)) * 0.1
    dist = ops.cdist(emb, emb)
    d, same = verification_pairs(dist, labels)
    assert d.shape == (66,) and same.sum() == 12
    np.testing.assert_allclose(d[0], np.linalg.norm(emb[0] - emb[1]), rtol=1e-12)
    acc, rounds = one_shot_accuracy(dist, labels)
    assert acc == 1.0 and len(rounds) == 3
    shuffled, _ = one_shot_accuracy(dist, rng.permutation(labels))
    assert shuffled < 0.7
    with pytest.raises(ValueError, match=r"one_shot_accuracy: every person needs at least two images"):
        one_shot_accuracy(dist[:5, :5], np.array([0, 0, 1, 2, 2]))
    with pytest.raises(ValueError, match=r"verification_pairs: dist must be the \(n, n\) distance matrix of the "
                                         r"n = 12 labelled images, got dist of shape \(12, 4\)"):
        verification_pairs(emb, labels)


def test_one_shot_equals_scikit_learn_nearest_neighbour():
    neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(6), 5)
    emb = rng.standard_normal((30, 8)) + np.repeat(rng.standard_normal((6, 8)), 5, axis=0)
    acc, rounds = one_shot_accuracy(ops.cdist(emb, emb), labels, seed=4)
    rng4 = np.random.default_rng(4)  # the galleries one_shot_accuracy draws with seed=4
    members = [rng4.permutation(np.flatnonzero(labels == i)) for i in range(6)]
    expected = []
    for r in range(5):
        gallery = np.array([m[r] for m in members])
        probes = np.setdiff1d(np.arange(30), gallery)
        knn = neighbors.KNeighborsClassifier(n_neighbors=1).fit(emb[gallery], labels[gallery])
        expected.append(np.mean(knn.predict(emb[probes]) == labels[probes]))
    np.testing.assert_allclose(rounds, expected)
    assert acc == pytest.approx(np.mean(expected))
