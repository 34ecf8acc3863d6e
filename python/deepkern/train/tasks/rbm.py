"""``deepkern train rbm``: a Bernoulli restricted Boltzmann machine on handwritten digits, trained
with contrastive divergence (CD-k), as in Hinton's practical guide: SGD with momentum 0.5 for
the first epochs and 0.9 after, a small weight decay, pixels in [0, 1] used as probabilities.

Each epoch reports the training reconstruction error (squared error per pixel of the first
Gibbs step's reconstruction, the guide's rough progress signal), the test set's mean-field
reconstruction error, and the gap between the mean free energies of training and test images
(it grows when the RBM overfits). At the end: a linear probe on the hidden probabilities. With
--out DIR: filters.png (each hidden unit's weights), reconstructions.png, max_activating.png
and samples.png (Gibbs chains started from noise). For a deep autoencoder pre-trained with
stacked RBMs, use ``deepkern train autoencoder --kind stacked --pretrain rbm``.
"""
from __future__ import annotations

import numpy as np

from ...cli import nonnegative_float, positive_int
from ._generative import ImageTask, host, linear_probe, save_filters, save_max_activating, save_pairs


class Rbm(ImageTask):
    help = "a Bernoulli RBM trained with contrastive divergence (CD-k) on digits; filters, samples, linear probe"
    defaults = {"epochs": 10, "batch_size": 64, "lr": 0.05}
    # a finished run resumed with other values of these evaluates and draws again
    resume_may_change = ("out", "probe_epochs", "gibbs_steps")

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        a = p.add_argument
        a("--hidden", type=positive_int, default=256, help="hidden units")
        a("--cd-k", type=positive_int, default=1, help="Gibbs steps of contrastive divergence")
        a("--weight-decay", type=nonnegative_float, default=2e-4, help="L2 weight decay")
        a("--gibbs-steps", type=positive_int, default=1000, help="Gibbs steps of the chains drawn in samples.png")
        a("--probe-epochs", type=positive_int, default=10, help="epochs of the linear probe")

    def setup(self):
        import deepkern as dk
        from ... import optim
        from ...models import RBM

        self.load_images()
        a = self.args
        self.model = RBM(784, a.hidden, k=a.cd_k).to(self.device)
        # the guide's visible-bias start: log(p / (1 - p)) of each pixel's mean over the training set
        p = np.clip(self.train_x.reshape(len(self.train_x), -1).mean(0), 0.01, 0.99)
        self.model.visible_bias.data = self.to_device(np.log(p / (1 - p)).astype(np.float32))
        self.optimizer = optim.SGD(self.model.parameters(), lr=a.lr, momentum=0.5, weight_decay=a.weight_decay)
        print(f"RBM 784 x {a.hidden} (CD-{a.cd_k}): {self.model.num_parameters():,} parameters; data: {a.data} "
              f"({len(self.train_x)} training, {len(self.test_x)} test images); {dk.get_num_threads()} threads; "
              f"device {self.device}")

    def flat(self, x):
        return self.to_device(x.reshape(len(x), -1))

    def train_epoch(self, epoch):
        a = self.args
        self.optimizer.param_groups[0]["momentum"] = 0.5 if epoch < min(5, a.epochs // 2) else 0.9
        total, seen = 0.0, 0
        with self.progress(total=len(self.train_x) // a.batch_size) as bar:
            for idx in self.batches(len(self.train_x), epoch):
                self.optimizer.zero_grad()
                err = self.model.contrastive_divergence(self.flat(self.train_x[idx]), rng=self.rng)
                self.optimizer.step()
                total, seen = total + err * len(idx), seen + len(idx)
                bar.set_postfix(recon_error=f"{total / seen:.4g}", refresh=False)
                bar.update()
        n = min(len(self.train_x), len(self.test_x))
        gap = float(self.model.free_energy(self.flat(self.test_x[:n])).mean()
                    - self.model.free_energy(self.flat(self.train_x[:n])).mean())
        return {"recon_error": total / seen, "test_mse": self.test_mse(), "free_energy_gap": gap}

    def chunks(self, x, fn, chunk=2000):
        return np.concatenate([host(fn(self.flat(x[i:i + chunk]))) for i in range(0, len(x), chunk)])

    def test_mse(self):
        recon = self.chunks(self.test_x, self.model.reconstruct)
        return float(((recon - self.test_x.reshape(len(self.test_x), -1)) ** 2).mean())

    def finish(self):
        a = self.args
        print(f"test reconstruction (mean-field): MSE {self.test_mse():.5f} per pixel ({len(self.test_x)} images)")
        train_h = self.chunks(self.train_x, self.model.hidden_probs)
        test_h = self.chunks(self.test_x, self.model.hidden_probs)
        acc = linear_probe(train_h, self.train_y, test_h, self.test_y, epochs=a.probe_epochs, seed=a.seed)
        print(f"linear probe on the {a.hidden} hidden probabilities: test accuracy {100 * acc:.2f}%")
        if a.out is None:
            return
        x = self.test_x[:30]
        recon = self.chunks(x, self.model.reconstruct).reshape(x.shape)
        paths = [save_filters(self.model.weight.data, self.out("filters.png")),
                 save_pairs([x, recon], self.out("reconstructions.png")),
                 save_max_activating(test_h, self.test_x, self.out("max_activating.png"))]
        from ...viz import save_image
        rng = np.random.default_rng(a.seed)
        start = self.to_device(rng.random((20, 784)).astype(np.float32))
        samples = host(self.model.gibbs(start, steps=a.gibbs_steps, rng=rng))
        paths.append(save_image(samples.reshape(20, 1, 28, 28), self.out("samples.png"), nrow=10,
                                value_range=(0, 1), upscale=2))
        print("pictures: " + ", ".join(map(str, paths)))
