"""Autoencoders and RBMs: shapes, gradients, tying, the penalties against their definitions, the
RBM's CD-1 update against NumPy, and short seeded runs that assert learning."""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import optim
from deepkern.data import MNISTSubset
from deepkern.models import RBM, Autoencoder, ConvAutoencoder, DeepAutoencoder, TiedLinear
from deepkern.models.autoencoder import (contractive_penalty, corrupt, kl_sparsity_penalty, l1_penalty,
                                         pretrain_stack, reconstruction_loss)
from tests.helpers import gradcheck, with_params


@pytest.fixture(scope="module")
def digits():
    """2,000 MNIST training images as (N, 784) float32 in [0, 1] and 500 test images."""
    train, test = MNISTSubset(True), MNISTSubset(False)
    flat = lambda d, n: (d.data[:n].reshape(n, -1) / np.float32(255)).astype(np.float32)  # noqa: E731
    return flat(train, 2000), flat(test, 500)


def test_mlp_autoencoder_shapes_and_gradients():
    rng = np.random.default_rng(0)
    model = Autoencoder([12, 7, 3], activation="tanh", dtype=np.float64)
    x = rng.random((4, 12))
    assert model.encode(dk.Tensor(x)).shape == (4, 3)
    assert model(dk.Tensor(x.reshape(4, 1, 3, 4))).shape == (4, 12)      # images are flattened
    params = list(model.parameters())
    assert len(params) == 8
    gradcheck(lambda *ps: with_params(model, ps, lambda: model.loss(x)[0]), *[p.data.copy() for p in params])


def test_tied_autoencoder_has_one_weight_and_sums_both_gradients():
    rng = np.random.default_rng(1)
    tied = Autoencoder([10, 4], activation="sigmoid", tied=True, dtype=np.float64)
    assert sorted(tied.state_dict()) == ["decoder.0.bias", "encoder.0.bias", "encoder.0.weight"]
    assert isinstance(tied.decoder[0], TiedLinear) and tied.decoder[0].weight is tied.encoder[0].weight
    assert tied.num_parameters() == 10 * 4 + 4 + 10
    # the same network untied, with the decoder weight a copy of W^T: its two weight gradients
    # must add up to the tied weight's gradient
    free = Autoencoder([10, 4], activation="sigmoid", dtype=np.float64)
    free.encoder[0].weight.data = tied.encoder[0].weight.data.copy()
    free.encoder[0].bias.data = tied.encoder[0].bias.data.copy()
    free.decoder[0].weight.data = tied.encoder[0].weight.data.T.copy()
    free.decoder[0].bias.data = tied.decoder[0].bias.data.copy()
    x = rng.random((5, 10))
    for m in (tied, free):
        m.loss(x)[0].backward()
    np.testing.assert_allclose(tied.encoder[0].weight.grad.data,
                               free.encoder[0].weight.grad.data + free.decoder[0].weight.grad.data.T, rtol=1e-12)
    gradcheck(lambda w, b, c: with_params(tied, (w, b, c), lambda: tied.loss(x)[0]),
              *[p.data.copy() for p in tied.parameters()])


def test_contractive_penalty_equals_the_jacobian_norm_by_finite_differences():
    rng = np.random.default_rng(2)
    model = Autoencoder([6, 4], activation="sigmoid", contractive_weight=1.0, dtype=np.float64)
    x = rng.random((3, 6))
    layer = model.encoder[0]
    h = model.encode(dk.Tensor(x))
    closed = contractive_penalty(h, layer.weight).item()
    encode = lambda v: 1 / (1 + np.exp(-(v @ layer.weight.data.T + layer.bias.data)))  # noqa: E731
    eps, total = 1e-6, 0.0
    for row in x:
        jac = np.stack([(encode(row + eps * e) - encode(row - eps * e)) / (2 * eps) for e in np.eye(6)], axis=1)
        total += np.sum(jac ** 2)
    np.testing.assert_allclose(closed, total / len(x), rtol=1e-7)
    gradcheck(lambda w, b: contractive_penalty(F.sigmoid(F.linear(dk.Tensor(x), w, b)), w),
              layer.weight.data.copy(), layer.bias.data.copy())


def test_sparsity_penalties_and_corruption():
    h = np.array([[0.1, 0.3], [0.3, 0.1]])
    assert l1_penalty(dk.Tensor(-h)).item() == pytest.approx(0.4)
    rho, rho_hat = 0.05, 0.2    # both units average 0.2
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    assert kl_sparsity_penalty(dk.Tensor(h), rho).item() == pytest.approx(2 * kl)
    assert kl_sparsity_penalty(dk.Tensor(np.full((3, 2), 0.05)), 0.05).item() == pytest.approx(0, abs=1e-12)
    gradcheck(lambda t: kl_sparsity_penalty(F.sigmoid(t), 0.1), np.random.default_rng(0).standard_normal((4, 3)))
    x = np.ones((200, 50), np.float32)
    masked = corrupt(x, "masking", 0.3, rng=np.random.default_rng(0))
    assert set(np.unique(masked)) == {0.0, 1.0} and abs((masked == 0).mean() - 0.3) < 0.02
    noisy = corrupt(x, "gaussian", 0.5, rng=np.random.default_rng(0))
    assert noisy.dtype == np.float32 and abs(float((noisy - x).std()) - 0.5) < 0.02


def test_reconstruction_losses_per_image():
    x = np.array([[0.0, 1.0], [1.0, 1.0]])
    logits = dk.Tensor(np.zeros((2, 2)))
    assert reconstruction_loss(logits, x, "bce").item() == pytest.approx(2 * np.log(2))
    assert reconstruction_loss(logits, x, "mse").item() == pytest.approx((0.25 * 4) / 2)


def test_conv_autoencoder_shapes_and_gradients():
    model = ConvAutoencoder(code=5, channels=(2, 3), dtype=np.float64)
    x = np.random.default_rng(3).random((2, 1, 28, 28))
    assert model.encode(dk.Tensor(x)).shape == (2, 5)
    assert model(dk.Tensor(x)).shape == (2, 1, 28, 28)
    loss = model.loss(x)[0]
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.data).all() for p in model.parameters())
    small = ConvAutoencoder(code=2, channels=(1, 1), image_size=8, dtype=np.float64)
    xs = np.random.default_rng(4).random((1, 1, 8, 8))
    gradcheck(lambda *ps: with_params(small, ps, lambda: small.loss(xs)[0]),
              *[p.data.copy() for p in small.parameters()])


def test_autoencoder_errors():
    with pytest.raises(ValueError, match=r"Autoencoder: sizes must list at least two positive widths, got \[784\]"):
        Autoencoder([784])
    with pytest.raises(ValueError, match=r"Autoencoder: activation must be one of .*got 'gelu'"):
        Autoencoder(activation="gelu")
    with pytest.raises(ValueError, match="the KL sparsity target needs sigmoid codes"):
        Autoencoder(sparsity="kl", activation="relu")
    with pytest.raises(ValueError, match=r"contractive penalty's closed form needs one sigmoid encoder layer"):
        Autoencoder([784, 128, 32], contractive_weight=0.1)
    with pytest.raises(ValueError, match=r"masking noise_level .* must be in \[0, 1\), got 1.5"):
        Autoencoder(noise="masking", noise_level=1.5)
    with pytest.raises(ValueError, match="noise must be None, 'gaussian' or 'masking', got 'salt'"):
        Autoencoder(noise="salt")
    with pytest.raises(ValueError, match=r"input has 100 features, expected 784"):
        Autoencoder().loss(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="do not chain"):
        DeepAutoencoder.from_stack([(np.zeros((8, 10)), np.zeros(8), np.zeros(10)),
                                    (np.zeros((4, 9)), np.zeros(4), np.zeros(9))])
    with pytest.raises(ValueError, match=r"pretrain_stack: data must be \(N, 784\)"):
        pretrain_stack(np.zeros((5, 10), np.float32), [784, 10])


# ---- RBM ------------------------------------------------------------------------------------

def _cd1_reference(W, b, c, v0, rng):
    """CD-1 in plain NumPy: the same draws in the same order as RBM.contrastive_divergence."""
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    ph0 = sig(v0 @ W.T + c)
    h0 = (rng.random(ph0.shape) < ph0).astype(v0.dtype)
    v1 = sig(h0 @ W + b)
    ph1 = sig(v1 @ W.T + c)
    n = len(v0)
    return -(ph0.T @ v0 - ph1.T @ v1) / n, -(v0 - v1).mean(0), -(ph0 - ph1).mean(0), ((v0 - v1) ** 2).mean()


def test_rbm_cd1_update_matches_numpy():
    rng = np.random.default_rng(5)
    rbm = RBM(7, 4, dtype=np.float64)
    rbm.weight.data = rng.standard_normal((4, 7)) * 0.5
    rbm.visible_bias.data = rng.standard_normal(7) * 0.1
    rbm.hidden_bias.data = rng.standard_normal(4) * 0.1
    v0 = (rng.random((6, 7)) < 0.4).astype(np.float64)
    err = rbm.contrastive_divergence(v0, rng=np.random.default_rng(9))
    gW, gb, gc, ref_err = _cd1_reference(rbm.weight.data, rbm.visible_bias.data, rbm.hidden_bias.data, v0,
                                         np.random.default_rng(9))
    np.testing.assert_allclose(rbm.weight.grad.data, gW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rbm.visible_bias.grad.data, gb, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rbm.hidden_bias.grad.data, gc, rtol=1e-12, atol=1e-14)
    assert err == pytest.approx(ref_err)
    # an SGD step moves the parameters by -lr * grad, i.e. up the CD estimate
    before = rbm.weight.data.copy()
    optim.SGD(rbm.parameters(), lr=0.1).step()
    np.testing.assert_allclose(rbm.weight.data, before - 0.1 * gW, rtol=1e-12)


def test_rbm_free_energy_orders_states_by_probability():
    """On a 3-visible RBM small enough to enumerate, exp(-F(v)) / Z is p(v): it sums to 1 and
    equals the marginal of the joint exp(-E(v, h)) / Z summed over h."""
    rng = np.random.default_rng(6)
    rbm = RBM(3, 2, dtype=np.float64)
    W, b, c = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(2)
    rbm.weight.data, rbm.visible_bias.data, rbm.hidden_bias.data = W, b, c
    vs = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], np.float64)
    hs = np.array([[(i >> k) & 1 for k in range(2)] for i in range(4)], np.float64)
    joint = np.exp(vs @ b[:, None] + (hs @ c)[None, :] + vs @ W.T @ hs.T)      # (8 v, 4 h)
    p_v = joint.sum(1) / joint.sum()
    free = np.exp(-rbm.free_energy(vs))
    np.testing.assert_allclose(free / free.sum(), p_v, rtol=1e-12)
    # the conditionals are the joint's
    np.testing.assert_allclose(rbm.hidden_probs(vs)[:, 0], (joint * hs[None, :, 0]).sum(1) / joint.sum(1),
                               rtol=1e-12)


def test_rbm_learns_digits(digits):
    train, test = digits
    dk.manual_seed(0)
    rbm = RBM(784, 64)
    opt = optim.SGD(rbm.parameters(), lr=0.05, momentum=0.5)
    before = float(((rbm.reconstruct(test) - test) ** 2).mean())
    rng = np.random.default_rng(0)
    for _ in range(3):
        for start in range(0, len(train), 50):
            opt.zero_grad()
            rbm.contrastive_divergence(train[start:start + 50], rng=rng)
            opt.step()
    after = float(((rbm.reconstruct(test) - test) ** 2).mean())
    # untrained: ~0.23 per pixel (every pixel 0.5); three epochs of CD-1 on 2,000 digits: ~0.047
    assert before > 0.2 and after < 0.055, (before, after)
    with pytest.raises(ValueError, match=r"RBM: v must be \(N, 784\), got shape \(2, 10\)"):
        rbm.contrastive_divergence(np.zeros((2, 10), np.float32))
    with pytest.raises(TypeError, match="RBM: v is float64 but the parameters are float32"):
        rbm.hidden_probs(np.zeros((2, 784)))
    with pytest.raises(ValueError, match="RBM: n_visible, n_hidden and k must be >= 1"):
        RBM(0, 5)


# ---- learning ---------------------------------------------------------------------------------

def _train(model, data, epochs, lr=1e-2, batch=32):
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for start in range(0, len(data), batch):
            loss, _ = model.loss(data[start:start + batch])
            opt.zero_grad()
            loss.backward()
            opt.step()


def _test_recon(model, test):
    model.eval()
    with dk.no_grad():
        return float(model.loss(test)[1].item())


def _mean_image_loss(train, test):
    """The BCE (nats per image) of predicting every test image by the training set's mean image:
    the bar an autoencoder must clear to have learned anything image-specific."""
    p = np.clip(train.mean(0), 1e-6, 1 - 1e-6).astype(np.float64)
    return float(-(test * np.log(p) + (1 - test) * np.log(1 - p)).sum(1).mean())


@pytest.mark.parametrize("kind", ["plain", "tied", "denoising", "sparse", "conv"])
def test_autoencoders_learn_to_reconstruct_digits(digits, kind):
    train, test = digits
    dk.manual_seed(0)
    model = {"plain": lambda: Autoencoder([784, 128, 32], activation="relu"),
             "tied": lambda: Autoencoder([784, 128, 32], activation="relu", tied=True),
             "denoising": lambda: Autoencoder([784, 128, 32], activation="relu", noise="masking", noise_level=0.3),
             "sparse": lambda: Autoencoder([784, 128], activation="sigmoid", sparsity="kl", sparsity_weight=0.5),
             "conv": lambda: ConvAutoencoder(code=32, channels=(8, 16))}[kind]()
    shape = (-1, 1, 28, 28) if kind == "conv" else (-1, 784)
    before = _test_recon(model, test.reshape(shape))
    model.train()
    _train(model, train.reshape(shape), epochs=2)
    after = _test_recon(model, test.reshape(shape))
    mean_image = _mean_image_loss(train, test)    # ~205 nats
    # untrained: ~480-550 nats per image; two epochs on 2,000 digits (125 steps) reach 125-155
    assert before > mean_image + 200 and after < mean_image - 30, (kind, before, after, mean_image)


def test_stacked_rbm_pretraining_then_fine_tuning(digits):
    train, test = digits
    dk.manual_seed(0)
    layers = pretrain_stack(train, [784, 128, 32], method="rbm", epochs=2, seed=0)
    assert [w.shape for w, _, _ in layers] == [(128, 784), (32, 128)]
    model = DeepAutoencoder.from_stack(layers)
    np.testing.assert_array_equal(model.inner.decoder[0].weight.data, layers[1][0].T)
    assert model.inner.decoder[0].weight.data is not model.inner.encoder[1].weight.data   # untied
    unrolled = _test_recon(model, test)
    model.train()
    _train(model, train, epochs=1, lr=1e-3, batch=64)
    tuned = _test_recon(model, test)
    dk.manual_seed(0)
    fresh = DeepAutoencoder([784, 128, 32])
    _train(fresh, train, epochs=1, lr=1e-3, batch=64)
    scratch = _test_recon(fresh, test)
    mean_image = _mean_image_loss(train, test)
    # the unrolled RBM stack reconstructs before any fine-tuning (~172 nats vs the mean image's
    # ~205), fine-tuning improves it (~162), and the same fine-tuning from a random start stays
    # worse than the mean image (~233): the point of pre-training deep sigmoid networks
    assert unrolled < mean_image - 20 and tuned < unrolled - 5 and tuned < scratch - 30, \
        (unrolled, tuned, scratch, mean_image)
