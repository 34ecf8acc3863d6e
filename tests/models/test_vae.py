"""VAEs: shapes, the closed-form KL against a Monte-Carlo estimate, gradients through the
reparameterization, PyTorch's examples/vae layout, and seeded runs that assert learning."""
import numpy as np
import pytest

import deepkern as dk
from deepkern import optim
from deepkern.data import MNISTSubset
from deepkern.models import VAE, ConvVAE
from deepkern.models.vae import kl_divergence, reparameterize, vae_loss
from tests.helpers import gradcheck, with_params


@pytest.fixture(scope="module")
def digits():
    train, test = MNISTSubset(True), MNISTSubset(False)
    img = lambda d, n: (d.data[:n, None] / np.float32(255)).astype(np.float32)  # noqa: E731
    return img(train, 2000), img(test, 500)


def test_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mu, logvar = rng.standard_normal((2, 3)), rng.standard_normal((2, 3)) * 0.7
    closed = kl_divergence(dk.Tensor(mu), dk.Tensor(logvar)).item()
    # E_q[log q(z) - log p(z)] with z ~ q = N(mu, exp(logvar)), 400k draws per example
    n = 400_000
    z = mu[None] + np.exp(0.5 * logvar)[None] * rng.standard_normal((n, 2, 3))
    log_q = -0.5 * (((z - mu) ** 2) / np.exp(logvar) + logvar + np.log(2 * np.pi))
    log_p = -0.5 * (z ** 2 + np.log(2 * np.pi))
    terms = (log_q - log_p).sum(axis=2).sum(axis=1)
    mc, stderr = terms.mean(), terms.std() / np.sqrt(n)
    assert abs(closed - mc) < 4 * stderr, (closed, mc, stderr)
    assert kl_divergence(dk.Tensor(np.zeros((1, 4))), dk.Tensor(np.zeros((1, 4)))).item() == 0.0


def test_reparameterization_carries_gradients_to_mu_and_logvar():
    rng = np.random.default_rng(1)
    mu, logvar = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))

    def fn(m, lv):
        return (reparameterize(m, lv, rng=np.random.default_rng(7)) ** 2).sum()   # the same eps each call
    gradcheck(fn, mu, logvar)
    z = reparameterize(dk.Tensor(np.zeros((20000, 1))), dk.Tensor(np.full((20000, 1), np.log(4.0))),
                       rng=np.random.default_rng(2))
    assert abs(float(z.data.std()) - 2.0) < 0.05 and abs(float(z.data.mean())) < 0.05


def test_vae_shapes_gradients_and_the_pytorch_example_layout():
    model = VAE(in_features=12, hidden=5, latent=3, dtype=np.float64)
    assert list(model.state_dict()) == ["fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight",
                                        "fc22.bias", "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"]
    x = np.random.default_rng(3).random((4, 1, 3, 4))
    logits, mu, logvar = model(dk.Tensor(x))
    assert logits.shape == (4, 12) and mu.shape == logvar.shape == (4, 3)
    assert model.sample(5).shape == (5, 12)

    def loss(*values):
        dk.manual_seed(5)           # the same eps on every evaluation
        return with_params(model, values, lambda: model.loss(x)[0])
    gradcheck(loss, *[p.data.copy() for p in model.parameters()])


def test_vae_matches_pytorch_forward():
    torch = pytest.importorskip("torch")

    class Ref(torch.nn.Module):          # PyTorch's examples/vae/main.py
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(784, 400)
            self.fc21, self.fc22 = torch.nn.Linear(400, 20), torch.nn.Linear(400, 20)
            self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

        def forward(self, x, eps):
            h1 = torch.relu(self.fc1(x.view(-1, 784)))
            mu, logvar = self.fc21(h1), self.fc22(h1)
            z = mu + eps * torch.exp(0.5 * logvar)
            return torch.sigmoid(self.fc4(torch.relu(self.fc3(z)))), mu, logvar

    ref = Ref().double()
    model = VAE(dtype=np.float64)
    model.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(4).random((3, 1, 28, 28))
    eps = np.random.default_rng(8).standard_normal((3, 20))
    recon, mu, logvar = ref(torch.tensor(x), torch.tensor(eps))
    bce = torch.nn.functional.binary_cross_entropy(recon, torch.tensor(x).view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    m, lv = model.encode(dk.Tensor(x))
    z = reparameterize(m, lv, rng=np.random.default_rng(8))
    total, recon_ours, kl_ours = vae_loss(model.decode(z), x.reshape(3, -1), m, lv)
    np.testing.assert_allclose([total.item(), recon_ours.item(), kl_ours.item()],
                               [(bce + kld).item(), bce.item(), kld.item()], rtol=1e-9)


def _test_loss(model, test):
    model.eval()
    with dk.no_grad():
        total, _, _ = model.loss(test)
    model.train()
    return total.item() / len(test)


@pytest.mark.parametrize("make", [lambda: VAE(), lambda: ConvVAE(channels=(8, 16), hidden=64)], ids=["mlp", "conv"])
def test_vae_learns_digits(digits, make):
    train, test = digits
    dk.manual_seed(0)
    model = make()
    before = _test_loss(model, test)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(2):
        for start in range(0, len(train), 32):
            loss, _, _ = model.loss(train[start:start + 32])
            opt.zero_grad()
            (loss * (1.0 / 32)).backward()
            opt.step()
    after = _test_loss(model, test)
    # untrained ~545-610 nats per image; two epochs on 2,000 digits (125 steps): ~160 (MLP), ~205 (conv)
    assert before > 500 and after < 0.4 * before, (before, after)


def test_vae_errors():
    with pytest.raises(ValueError, match=r"VAE: sizes must be positive, got in_features=784, hidden=0"):
        VAE(hidden=0)
    with pytest.raises(ValueError, match=r"input has 100 features, expected 784"):
        VAE().loss(np.zeros((2, 100), np.float32))
    with pytest.raises(ValueError, match="input has 3 channels, expected 1"):
        ConvVAE().loss(np.zeros((2, 3, 28, 28), np.float32))
