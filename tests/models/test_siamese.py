"""Siamese networks: shared weights, the classifier head, and a short seeded training run that
must learn a similarity that carries over to classes it never saw."""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn
from deepkern.data import FaceDataset, IdentityBatchLoader, MNISTSubset
from deepkern.models import FaceEmbeddingNet, Siamese, SiameseClassifier
from deepkern.models.siamese import in_batch_pairs
from deepkern.train import train_epoch
from deepkern.train.faces import FaceLoss, embed, evaluate_faces


def _tiny_net():
    dk.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 3)).double()


def test_siamese_has_one_set_of_parameters_and_sums_both_branches_gradients():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 1, 3, 4)), rng.standard_normal((4, 1, 3, 4))
    model = Siamese(_tiny_net())
    params = list(model.parameters())
    assert len(params) == len(list(model.embedding.parameters())) == 4
    assert list(model.state_dict()) == ["embedding.1.weight", "embedding.1.bias", "embedding.3.weight",
                                        "embedding.3.bias"]
    e1, e2 = model(dk.Tensor(a), dk.Tensor(b))
    target = np.array([1.0, 0.0, 1.0, 0.0])
    F.contrastive_loss(e1, e2, target, margin=2.0).backward()
    both = [p.grad.numpy().copy() for p in params]

    # the same loss with each branch's input frozen: the two partial gradients must add up
    def branch_grad(which):
        twin = Siamese(_tiny_net())
        x1, x2 = twin(dk.Tensor(a), dk.Tensor(b))
        with dk.no_grad():
            f1, f2 = twin(dk.Tensor(a), dk.Tensor(b))
        y1, y2 = (x1, f2) if which == 0 else (f1, x2)
        F.contrastive_loss(y1, y2, target, margin=2.0).backward()
        return [p.grad.numpy() for p in twin.parameters()]

    first, second = branch_grad(0), branch_grad(1)
    for g, g1, g2 in zip(both, first, second):
        assert np.abs(g1).max() > 0 and np.abs(g2).max() > 0
        np.testing.assert_allclose(g, g1 + g2, rtol=1e-12, atol=1e-15)


def test_siamese_classifier_head_and_shapes():
    rng = np.random.default_rng(1)
    model = SiameseClassifier(_tiny_net(), embedding_dim=3).double()
    a, b = rng.standard_normal((5, 1, 3, 4)), rng.standard_normal((5, 1, 3, 4))
    logits = model(dk.Tensor(a), dk.Tensor(b))
    assert logits.shape == (5,)
    np.testing.assert_allclose(logits.data, model(dk.Tensor(b), dk.Tensor(a)).data, rtol=1e-14)  # |f(a) - f(b)|
    e = model(dk.Tensor(a)).data
    np.testing.assert_allclose(logits.data, np.abs(e - model(dk.Tensor(b)).data) @ model.head.weight.data[0]
                               + model.head.bias.data[0], rtol=1e-12)
    with pytest.raises(ValueError, match=r"SiameseClassifier: the two inputs must have one shape .*got \(5, 1, 3, 4\) "
                                         r"and \(5, 1, 4, 4\)"):
        model(dk.Tensor(a), dk.Tensor(rng.standard_normal((5, 1, 4, 4))))
    with pytest.raises(ValueError, match=r"Siamese: the two inputs must have one shape"):
        Siamese(_tiny_net())(dk.Tensor(a), dk.Tensor(a[:3]))


def test_face_embedding_net_is_normalized():
    dk.manual_seed(0)
    net = FaceEmbeddingNet(embedding_dim=16, width=4)
    out = net(dk.Tensor(np.random.default_rng(2).random((3, 1, 28, 23)).astype(np.float32)))
    assert out.shape == (3, 16) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out.data, axis=1), 1, rtol=1e-5)


def test_in_batch_pairs():
    labels = np.array([0, 0, 1, 1, 2, 2])
    i, j, same = in_batch_pairs(labels, np.random.default_rng(0))
    assert np.all(i < j) and same.sum() == 3 and len(same) == 6
    np.testing.assert_array_equal(labels[i] == labels[j], same == 1)
    with pytest.raises(ValueError, match=r"in_batch_pairs: a batch needs same and different pairs"):
        in_batch_pairs(np.array([0, 1, 2]), np.random.default_rng(0))


def digit_people(classes, per_class, seed):
    """MNIST digits as 'people' (the embedded subset): training on some digits and testing on
    others asks for what face verification asks, a similarity that carries over to classes
    never seen."""
    x, y = MNISTSubset(train=True).get_batch(np.arange(3000))
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    return FaceDataset(x[idx], y[idx])


@pytest.mark.parametrize("loss", ["triplet", "binary"])
def test_learns_a_similarity_that_carries_over_to_unseen_classes(loss):
    """Seeded: 6 epochs on digits 0-6 (P=7 x K=4 batches, batch-hard mining for the triplet
    loss); on the unseen digits 7-9 the ROC AUC and the one-shot 3-way accuracy rise well above
    the untrained network's (measured: triplet 0.51 -> 0.65 AUC, 0.37 -> 0.50 one-shot; binary
    0.47 -> 0.66, 0.29 -> 0.44), and the training loss falls."""
    train, test = digit_people(range(7), 40, seed=0), digit_people(range(7, 10), 20, seed=0)
    dk.manual_seed(0)
    net = FaceEmbeddingNet(embedding_dim=16, width=8)
    model = SiameseClassifier(net, 16) if loss == "binary" else Siamese(net)

    def scores():
        return evaluate_faces(embed(model, test.images), test.labels, embed(model, train.images), train.labels,
                              model=model)

    before = scores()
    loader = IdentityBatchLoader(train, identities_per_batch=7, samples_per_identity=4, seed=0)
    loss_fn = FaceLoss(loss, "hard", margin=0.5, model=model, generator=np.random.default_rng(0))
    opt = dk.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for epoch in range(6):
        loader.set_epoch(epoch)
        losses.append(train_epoch(model, loss_fn, opt, loader, metrics=())["loss"])
    after = scores()
    assert losses[-1] < 0.8 * losses[0], losses
    assert after["auc"] > before["auc"] + 0.08, (before["auc"], after["auc"])
    assert after["one_shot"] > before["one_shot"] + 0.08, (before["one_shot"], after["one_shot"])
    if loss == "triplet":
        assert 0 < loss_fn.active_fraction <= 1
