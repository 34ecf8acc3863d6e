"""``deepkern train vae``: a variational autoencoder on handwritten digits (or clothes).

--arch mlp is PyTorch's examples/vae (784-400-20, Adam lr 1e-3, batch 128, 10 epochs: the
defaults here); --arch conv a convolutional encoder and a transposed-convolution decoder. The
loss is the negative ELBO: Bernoulli cross-entropy of the reconstruction summed over pixels plus
the closed-form KL divergence of q(z|x) from N(0, I). Each epoch reports the training loss and
the test loss in nats per image (the reconstruction term and the KL term beside their sum),
with one reparameterized sample per image as in the example's test().

With --out DIR: samples.png (decoded z ~ N(0, I)), reconstructions.png (test images over
their reconstructions), interpolation.png (decoded points on the line between two test images'
posterior means, one pair per row) and, for --latent 2, manifold.png (the decoder over a grid
of z = Φ⁻¹(u) for u on a uniform grid in (0, 1)², Kingma & Welling's figure).
"""
from __future__ import annotations

import numpy as np

from ...cli import positive_int
from ..task import UsageError
from ._generative import ImageTask, host, save_pairs


class Vae(ImageTask):
    help = "a variational autoencoder (MLP as PyTorch's example, or conv) on digits; test loss in nats, samples"
    defaults = {"epochs": 10, "batch_size": 128, "lr": 1e-3}
    # a finished run resumed with other values of these evaluates and draws again
    resume_may_change = ("out", "grid")

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        a = p.add_argument
        a("--arch", choices=["mlp", "conv"], default="mlp", help="the encoder and decoder")
        a("--latent", type=positive_int, default=20, help="latent dimensions (2 also draws manifold.png)")
        a("--hidden", type=positive_int, default=None, help="hidden units (default: mlp 400, conv 256)")
        a("--grid", type=positive_int, default=20, help="(--latent 2) manifold.png is grid x grid decodings")

    def setup(self):
        import deepkern as dk
        from ... import optim
        from ...models import VAE, ConvVAE

        self.load_images()
        a = self.args
        if a.arch == "mlp":
            self.model = VAE(784, a.hidden or 400, a.latent)
        else:
            self.model = ConvVAE(1, a.latent, hidden=a.hidden or 256)
        self.model.to(self.device)
        self.optimizer = optim.Adam(self.model.parameters(), lr=a.lr)
        print(f"VAE ({a.arch}, latent {a.latent}): {self.model.num_parameters():,} parameters; data: {a.data} "
              f"({len(self.train_x)} training, {len(self.test_x)} test images); {dk.get_num_threads()} threads; "
              f"device {self.device}")

    def check(self):
        super().check()
        if self.args.grid > 100:
            raise UsageError("--grid", f"expected at most 100 (a {self.args.grid}² grid of digits), got "
                                       f"{self.args.grid}")

    def train_epoch(self, epoch):
        a = self.args
        self.model.train()
        total, seen = 0.0, 0
        with self.progress(total=len(self.train_x) // a.batch_size) as bar:
            for idx in self.batches(len(self.train_x), epoch):
                loss, _, _ = self.model.loss(self.to_device(self.train_x[idx]))
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                total, seen = total + loss.item(), seen + len(idx)
                bar.set_postfix(loss=f"{total / seen:.4g}", refresh=False)
                bar.update()
        test = self.test_loss()
        return {"loss": total / seen, "test_loss": test[0], "test_recon": test[1], "test_kl": test[2]}

    def test_loss(self, chunk=1000):
        """(total, reconstruction, KL) in nats per test image; one z sample per image, drawn
        from a generator keyed on the seed so every evaluation sees the same noise."""
        from ... import no_grad

        rng = np.random.default_rng([self.args.seed, 1])
        sums = np.zeros(3)
        with no_grad():
            for i in range(0, len(self.test_x), chunk):
                sums += [t.item() for t in self.model.loss(self.to_device(self.test_x[i:i + chunk]), rng=rng)]
        return tuple(sums / len(self.test_x))

    def finish(self):
        total, recon, kl = self.test_loss()
        print(f"test loss {total:.2f} nats per image (reconstruction {recon:.2f} + KL {kl:.2f}; "
              f"{len(self.test_x)} images)")
        if self.args.out is not None:
            self.pictures()

    def decode(self, z):
        from ... import functional as F
        from ... import no_grad
        from ...autograd import Tensor

        self.model.eval()
        with no_grad():
            out = host(F.sigmoid(self.model.decode(Tensor(self.to_device(z.astype(np.float32))))))
        self.model.train()
        return out.reshape(len(z), 1, 28, 28)

    def means(self, x):
        from ... import no_grad
        from ...autograd import Tensor

        with no_grad():
            return host(self.model.encode(Tensor(self.to_device(x)))[0])

    def pictures(self):
        from ...viz import save_image

        a = self.args
        rng = np.random.default_rng(a.seed)
        paths = [save_image(self.decode(rng.standard_normal((64, a.latent))), self.out("samples.png"), nrow=8,
                            value_range=(0, 1), upscale=2)]
        x = self.test_x[:30]
        paths.append(save_pairs([x, self.decode(self.means(x))], self.out("reconstructions.png")))
        pairs = self.means(self.test_x[:16])
        t = np.linspace(0, 1, 10)[:, None]
        line = np.concatenate([(1 - t) * pairs[2 * i] + t * pairs[2 * i + 1] for i in range(8)])
        paths.append(save_image(self.decode(line), self.out("interpolation.png"), nrow=10, value_range=(0, 1),
                                upscale=2))
        if a.latent == 2:
            from statistics import NormalDist
            u = (np.arange(a.grid) + 0.5) / a.grid
            q = np.array([NormalDist().inv_cdf(v) for v in u])
            z = np.array([[q[j], q[a.grid - 1 - i]] for i in range(a.grid) for j in range(a.grid)])
            paths.append(save_image(self.decode(z), self.out("manifold.png"), nrow=a.grid, padding=0,
                                    value_range=(0, 1), upscale=2))
        print("pictures: " + ", ".join(map(str, paths)))
