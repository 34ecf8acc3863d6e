"""Training-step benchmark cases of the generative models, deepkern beside the same architecture
in PyTorch on the same batch (what ``deepkern train vae`` and ``deepkern train gan`` run per step):

- VAE, PyTorch's examples/vae (784-400-20) at batch 128: forward with one reparameterized
  sample, BCE (summed) + KL, backward, Adam.
- DCGAN for 28x28 (width 32, latent 64) at batch 64: one discriminator step on a real and a
  generated batch, then one generator step through the discriminator with its parameters
  frozen (deepkern.models.gan.gan_step; the PyTorch side does the same updates).

PyTorch's models are written out here with the same layers; setup checks the parameter counts.
``flops``: 2 x multiply-adds; VAE 651,200 MACs per image forward, x3 for a step; the GAN step
counts the generator's 1,906,688 and the discriminator's 1,709,120 forward MACs per image as
G x3 + D x8 (D step: G forward, D forward and backward on two batches; G step: G forward and
backward, D forward and its input gradient) — an estimate, the rate column is indicative.
"""
from __future__ import annotations

from . import Case
from .train import same_size

VAE_MACS = 784 * 400 + 2 * 400 * 20 + 20 * 400 + 400 * 784
G_MACS = 64 * 3136 + 64 * 49 * 32 * 16 + 32 * 196 * 16
D_MACS = 32 * 196 * 16 + 64 * 49 * 32 * 16 + 3136


def _torch_vae(torch):
    nn = torch.nn

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
            self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

        def loss(self, x):
            h = torch.relu(self.fc1(x))
            mu, logvar = self.fc21(h), self.fc22(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            logits = self.fc4(torch.relu(self.fc3(z)))
            bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return VAE()


def _vae_case():
    def setup(ctx):
        import deepkern as dk
        from .. import optim
        from ..models import VAE

        x = ctx.xp.asarray(ctx.rng.random((128, 784)).astype("float32"))
        dk.manual_seed(ctx.seed)
        model = VAE().to(ctx.device)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def deepkern():
            loss = model.loss(x)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()

        fns = {"deepkern": deepkern}
        if ctx.torch is not None:
            torch = ctx.torch
            torch.manual_seed(ctx.seed)
            tmodel = _torch_vae(torch).to(ctx.device)
            same_size("generative", "vae_adam_step", model, tmodel)
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
            tx = ctx.tensor(x)

            def torch_step():
                loss = tmodel.loss(tx)
                topt.zero_grad()
                loss.backward()
                topt.step()
            fns["torch"] = torch_step
        return fns

    return Case("generative", "vae_adam_step", "b128,784-400-20", setup, flops=2 * 3 * VAE_MACS * 128)


def _torch_dcgan(torch, latent=64, ngf=32, ndf=32):
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(latent, 2 * ngf * 49, bias=False)
            self.bn0 = nn.BatchNorm2d(2 * ngf)
            self.net = nn.Sequential(nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf),
                                     nn.ReLU(), nn.ConvTranspose2d(ngf, 1, 4, 2, 1))

        def forward(self, z):
            h = self.fc(z).view(-1, 2 * ngf, 7, 7)
            return torch.tanh(self.net(torch.relu(self.bn0(h))))

    D = nn.Sequential(nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False),
                      nn.BatchNorm2d(2 * ndf), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * ndf * 49, 1))
    return Generator(), D


def _gan_case():
    def setup(ctx):
        import numpy as np

        import deepkern as dk
        from .. import optim
        from ..models import DCGANDiscriminator, DCGANGenerator
        from ..models.gan import gan_step

        x = ctx.xp.asarray(ctx.rng.uniform(-1, 1, (64, 1, 28, 28)).astype("float32"))
        dk.manual_seed(ctx.seed)
        G, D = DCGANGenerator(64, ngf=32).to(ctx.device), DCGANDiscriminator(ndf=32).to(ctx.device)
        betas = (0.5, 0.999)
        og, od = optim.Adam(G.parameters(), lr=2e-4, betas=betas), optim.Adam(D.parameters(), lr=2e-4, betas=betas)
        rng = np.random.default_rng(ctx.seed)
        fns = {"deepkern": lambda: gan_step(G, D, og, od, x, 64, rng=rng)}
        if ctx.torch is not None:
            torch = ctx.torch
            torch.manual_seed(ctx.seed)
            tG, tD = (m.to(ctx.device) for m in _torch_dcgan(torch))
            same_size("generative", "dcgan_step (generator)", G, tG)
            same_size("generative", "dcgan_step (discriminator)", D, tD)
            tog = torch.optim.Adam(tG.parameters(), lr=2e-4, betas=betas)
            tod = torch.optim.Adam(tD.parameters(), lr=2e-4, betas=betas)
            tx = ctx.tensor(x)
            bce = torch.nn.functional.binary_cross_entropy_with_logits

            def torch_step():
                fake = tG(torch.randn(64, 64, device=tx.device)).detach()
                real_logits, fake_logits = tD(tx), tD(fake)
                d_loss = (bce(real_logits, torch.ones_like(real_logits))
                          + bce(fake_logits, torch.zeros_like(fake_logits)))
                tod.zero_grad()
                d_loss.backward()
                tod.step()
                for p in tD.parameters():
                    p.requires_grad_(False)
                logits = tD(tG(torch.randn(64, 64, device=tx.device)))
                g_loss = bce(logits, torch.ones_like(logits))
                for p in tD.parameters():
                    p.requires_grad_(True)
                tog.zero_grad()
                g_loss.backward()
                tog.step()
            fns["torch"] = torch_step
        return fns

    return Case("generative", "dcgan_step", "b64,latent64,width32", setup,
                flops=2.0 * (3 * G_MACS + 8 * D_MACS) * 64)


def cases():
    return [_vae_case(), _gan_case()]
