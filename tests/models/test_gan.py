"""GANs: shapes and initialization, the two generator losses and label smoothing against their
formulas, gradients, the alternating step, and seeded runs that assert learning (a 1-D target
distribution; MNIST samples moving toward the data's statistics)."""
import numpy as np
import pytest

import deepkern as dk
from deepkern import optim
from deepkern.data import MNISTSubset
from deepkern.metrics import feature_statistics, frechet_distance
from deepkern.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from deepkern.models.gan import discriminator_loss, gan_step, generator_loss, ks_distance, train_gan_1d
from tests.helpers import gradcheck, with_params


def _softplus(x):
    return np.logaddexp(0, x)


def test_generator_and_discriminator_shapes_and_init():
    dk.manual_seed(0)
    z = dk.Tensor(np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32))
    for G, D in ((MLPGenerator(latent=16), MLPDiscriminator()),
                 (DCGANGenerator(latent=16, ngf=8), DCGANDiscriminator(ndf=8))):
        x = G(z)
        assert x.shape == (3, 1, 28, 28) and np.abs(x.data).max() <= 1.0      # tanh pixels
        assert D(x).shape == (3, 1)
    w = DCGANGenerator(latent=16, ngf=32).net[0].weight.data
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002     # DCGAN's N(0, 0.02)


def test_gan_losses_equal_their_formulas():
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    # -log D(x) with D = sigmoid(l) is softplus(-l); -log(1 - D) is softplus(l)
    d = discriminator_loss(dk.Tensor(real), dk.Tensor(fake)).item()
    assert d == pytest.approx(_softplus(-real).mean() + _softplus(fake).mean())
    smooth = discriminator_loss(dk.Tensor(real), dk.Tensor(fake), label_smoothing=0.1).item()
    assert smooth == pytest.approx((0.9 * _softplus(-real) + 0.1 * _softplus(real)).mean() + _softplus(fake).mean())
    assert generator_loss(dk.Tensor(fake)).item() == pytest.approx(_softplus(-fake).mean())
    assert generator_loss(dk.Tensor(fake), "minimax").item() == pytest.approx(-_softplus(fake).mean())
    # the minimax loss saturates where D rejects the samples: its gradient vanishes, the
    # non-saturating one's does not
    low = dk.Tensor(np.array([[-8.0]]), requires_grad=True)
    generator_loss(low, "minimax").backward()
    g_minimax, low.grad = abs(float(low.grad.data[0, 0])), None
    generator_loss(low, "non_saturating").backward()
    assert g_minimax < 1e-3 and abs(float(low.grad.data[0, 0])) > 0.99
    gradcheck(lambda a, b: discriminator_loss(a, b, 0.2) + generator_loss(b, "minimax"), real, fake)
    with pytest.raises(ValueError, match="generator_loss: kind must be one of"):
        generator_loss(dk.Tensor(fake), "wasserstein")


def test_dcgan_gradients():
    rng = np.random.default_rng(2)
    G, D = DCGANGenerator(latent=3, ngf=1, dtype=np.float64), DCGANDiscriminator(ndf=1, dtype=np.float64)
    z, x = rng.standard_normal((2, 3)), rng.standard_normal((2, 1, 28, 28))
    gradcheck(lambda *ps: with_params(D, ps, lambda: D(dk.Tensor(x)).sum()), *[p.data.copy() for p in D.parameters()])
    gradcheck(lambda *ps: with_params(G, ps, lambda: (G(dk.Tensor(z)) * dk.Tensor(x)).sum()),
              *[p.data.copy() for p in G.parameters()])


def test_gan_step_updates_both_and_leaves_d_trainable():
    dk.manual_seed(3)
    G, D = MLPGenerator(latent=8, hidden=(16,)), MLPDiscriminator(hidden=(16,))
    og, od = optim.Adam(G.parameters(), lr=1e-3), optim.Adam(D.parameters(), lr=1e-3)
    g0, d0 = [p.data.copy() for p in G.parameters()], [p.data.copy() for p in D.parameters()]
    real = np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    out = gan_step(G, D, og, od, real, 8, label_smoothing=0.1, rng=np.random.default_rng(0))
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"} and 0 < out["d_real"] < 1
    assert all(not np.array_equal(a, p.data) for a, p in zip(g0, G.parameters()))
    assert all(not np.array_equal(a, p.data) for a, p in zip(d0, D.parameters()))
    assert all(p.requires_grad for p in D.parameters())
    with pytest.raises(ValueError, match=r"gan_step: label_smoothing must be in \[0, 0.5\), got 0.7"):
        gan_step(G, D, og, od, real, 8, label_smoothing=0.7)
    with pytest.raises(ValueError, match="gan_step: loss must be one of"):
        gan_step(G, D, og, od, real, 8, loss="hinge")


def test_ks_distance():
    assert ks_distance([0.5], lambda x: x) == pytest.approx(0.5)
    u = np.random.default_rng(0).random(20000)
    assert ks_distance(u, lambda x: np.clip(x, 0, 1)) < 0.01
    assert ks_distance(u + 0.5, lambda x: np.clip(x, 0, 1)) > 0.49


def test_1d_gan_learns_the_target_distribution():
    """The generator turns uniform noise into N(4, 1.25²) samples: the course's inverse-CDF
    sampling, learned adversarially from samples alone."""
    dk.manual_seed(0)
    result = train_gan_1d("normal", steps=600, lr=2e-3, seed=0)
    # untrained outputs sit near 0, far from the target (KS ~1); 600 steps: ~0.14
    assert result["ks_before"] > 0.9 and result["ks"] < 0.2, (result["ks_before"], result["ks"])
    with pytest.raises(ValueError, match="train_gan_1d: target must be one of"):
        train_gan_1d("cauchy")


@pytest.fixture(scope="module")
def digits():
    x = MNISTSubset(True).data[:2048, None].astype(np.float32) / np.float32(255) * 2 - 1
    return x


def _pooled(images):
    """7x7 average-pooled pixels (49 features): a cheap stand-in for a classifier's features."""
    return np.asarray(images).reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(len(images), -1)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_gan_samples_move_toward_the_data(digits, arch):
    dk.manual_seed(0)
    if arch == "mlp":
        G, D, lr = MLPGenerator(latent=32, hidden=(128, 256)), MLPDiscriminator(hidden=(256, 128)), 1e-3
    else:
        G, D, lr = DCGANGenerator(latent=32, ngf=8), DCGANDiscriminator(ndf=8), 2e-3
    og = optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    od = optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    real = feature_statistics(_pooled(digits))

    def distance():
        G.eval()
        with dk.no_grad():
            samples = G(dk.Tensor(rng.standard_normal((1000, 32)).astype(np.float32))).data
        G.train()
        return frechet_distance(*feature_statistics(_pooled(samples)), *real)

    before = distance()
    steps = 64 if arch == "mlp" else 32
    for start in range(0, 64 * steps, 64):
        gan_step(G, D, og, od, digits[start % len(digits):][:64], 32, rng=rng)
    after = distance()
    # untrained: ~37; after 64 MLP steps ~8.5, after 32 DCGAN steps ~16
    assert after < 0.6 * before, (before, after)


def test_sample_scorer_tells_digits_from_noise():
    from deepkern import functional as F
    from deepkern.models import LeNet
    from deepkern.models.gan import SampleScorer

    train, test = MNISTSubset(True), MNISTSubset(False)
    x = train.data[:3000, None].astype(np.float32) / np.float32(255)
    y = train.targets[:3000]
    dk.manual_seed(0)
    lenet = LeNet()
    opt = optim.Adam(lenet.parameters(), lr=2e-3)
    for start in range(0, 3 * len(x), 64):
        batch = slice(start % len(x), start % len(x) + 64)
        loss = F.cross_entropy(lenet(dk.Tensor((x[batch] - 0.1307) / 0.3081)), y[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    reference = test.data[:1000, None].astype(np.float32) / np.float32(255)
    scorer = SampleScorer(lenet, reference)
    held_out = scorer(test.data[1000:2000, None].astype(np.float32) / np.float32(255))
    noise = scorer(np.random.default_rng(0).random((1000, 1, 28, 28)).astype(np.float32))
    blank = scorer(np.zeros((1000, 1, 28, 28), np.float32))
    # a LeNet trained 3 epochs on 3,000 digits (less confident than a full one): real digits score
    # ~7.5 of 10 (9.9 with a fully trained one); noise and blank images collapse
    # onto a class or two and sit far from the digits' features
    assert scorer.reference_score > 7 and held_out["score"] > 7, (scorer.reference_score, held_out)
    assert noise["score"] < 3 and blank["score"] < 1.01, (noise, blank)
    assert held_out["frechet"] < 0.1 * min(noise["frechet"], blank["frechet"]), (held_out, noise, blank)


def test_ema_update_averages_weights_with_a_warm_up():
    dk.manual_seed(4)
    G, avg = DCGANGenerator(latent=4, ngf=2), DCGANGenerator(latent=4, ngf=2)
    before = [p.data.copy() for p in avg.parameters()]
    from deepkern.models.gan import ema_update
    ema_update(avg, G, decay=0.9)
    for p_avg, p0, p in zip(avg.parameters(), before, G.parameters()):
        np.testing.assert_allclose(p_avg.data, 0.9 * p0 + 0.1 * p.data, rtol=1e-6)
    assert avg.bn0.running_mean is not G.bn0.running_mean        # buffers are not averaged
    start = [p.data.copy() for p in avg.parameters()]
    ema_update(avg, G, decay=0.999, step=0)                     # warm-up: d = min(0.999, 1/10)
    for p_avg, p0, p in zip(avg.parameters(), start, G.parameters()):
        np.testing.assert_allclose(p_avg.data, 0.1 * p0 + 0.9 * p.data, rtol=1e-5, atol=1e-8)
    ema_update(avg, G, decay=0.0)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(avg.parameters(), G.parameters()))
    with pytest.raises(ValueError, match=r"ema_update: decay must be in \[0, 1\), got 1.0"):
        ema_update(avg, G, decay=1.0)
