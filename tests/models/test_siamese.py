"""Siamese networks: shared weights, the classifier head, and a short seeded training run on
synthetic identities that must learn to verify and recognize people it never saw."""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn
from deepkern.data import FaceDataset, IdentityBatchLoader
from deepkern.models import FaceEmbeddingNet, Siamese, SiameseClassifier
from deepkern.models.siamese import in_batch_pairs
from deepkern.train import fit
from deepkern.train.faces import FaceEvaluation, FaceLoss, embed, evaluate_embeddings


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
    both = [p.grad.copy() for p in params]

    # the same loss with each branch's input frozen: the two partial gradients must add up
    def branch_grad(which):
        twin = Siamese(_tiny_net())
        x1, x2 = twin(dk.Tensor(a), dk.Tensor(b))
        with dk.no_grad():
            f1, f2 = twin(dk.Tensor(a), dk.Tensor(b))
        y1, y2 = (x1, f2) if which == 0 else (f1, x2)
        F.contrastive_loss(y1, y2, target, margin=2.0).backward()
        return [p.grad for p in twin.parameters()]

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


def synthetic_faces(n_people, per_person, seed, size=(20, 16)):
    """Identities as random smooth 'faces' (a prototype per person); each image shifted by up to
    2 pixels, with brightness and pixel noise: same-person images differ as much as a few people."""
    rng = np.random.default_rng(seed)
    h, w = size
    protos = rng.random((n_people, h + 4, w + 4))
    protos = (protos + np.roll(protos, 1, 1) + np.roll(protos, 1, 2) + np.roll(protos, (1, 1), (1, 2))) / 4
    images, labels = [], []
    for person in range(n_people):
        for _ in range(per_person):
            dy, dx = rng.integers(0, 5, 2)
            img = protos[person, dy:dy + h, dx:dx + w] * rng.uniform(0.7, 1.3) + rng.normal(0, 0.08, (h, w))
            images.append(img)
            labels.append(person)
    return FaceDataset(np.clip(np.array(images), 0, 1).astype(np.float32), np.array(labels))


@pytest.mark.parametrize("loss,mining", [("triplet", "hard"), ("binary", None)])
def test_learns_to_verify_unseen_synthetic_people(loss, mining):
    """12 training people, 6 unseen: after a few seeded epochs the embedding verifies and
    one-shot-recognizes the unseen people far better than at initialization."""
    train, test = synthetic_faces(12, 8, seed=0), synthetic_faces(6, 8, seed=1)
    dk.manual_seed(0)
    net = FaceEmbeddingNet(embedding_dim=16, width=8)
    model = SiameseClassifier(net, 16) if loss == "binary" else Siamese(net)
    before = evaluate_embeddings(embed(model, train.images), train.labels, embed(model, test.images), test.labels)
    loader = IdentityBatchLoader(train, identities_per_batch=6, samples_per_identity=4, seed=0)
    loss_fn = FaceLoss(loss, mining or "hard", margin=0.3, model=model)
    opt = dk.optim.Adam(model.parameters(), lr=3e-3)
    evaluation = FaceEvaluation(test, loss_fn, train_set=train)
    history = fit(model, loss_fn, opt, loader, epochs=6, callbacks=[evaluation], metrics=(), progress=False)
    after = evaluation.last
    assert history["loss"][-1] < 0.6 * history["loss"][0]
    assert after["auc"] > before["auc"] + 0.1 and after["auc"] > 0.9, (before["auc"], after["auc"])
    assert after["one_shot"] > 0.8, (before["one_shot"], after["one_shot"])
    assert history["val_one_shot"][-1] == after["one_shot"]
    if loss == "triplet":
        assert 0 < history["active"][-1] <= 1
