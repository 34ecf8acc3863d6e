"""``deepkern train gan``: a generative adversarial network on handwritten digits (or clothes).

--arch dcgan (default) is a DCGAN for 28x28 images (transposed convolutions, batch norm); --arch
mlp the fully connected GAN of Goodfellow et al. Each step updates the discriminator on a batch
of real and a batch of generated images, then the generator on fresh noise (Adam, lr 2e-4,
β1 = 0.5, as the DCGAN paper). --loss picks the generator's objective: non-saturating
(maximize log D(G(z)), the default) or minimax (minimize log(1 - D(G(z))), the original);
--label-smoothing s trains D towards 1 - s on real images. Samples come from an exponential
moving average of the generator's weights (--ema 0.999; 0: the generator itself), which smooths
out the oscillation of adversarial training (Yazıcı et al. 2019); its batch norms use the
statistics of each batch of 500 samples.

Quality is measured, not eyeballed: a LeNet classifier of the same data (trained here for
--classifier-epochs, or loaded from a 'deepkern train lenet' checkpoint with --classifier)
judges the samples: the classifier score (the Inception-score formula, exp E KL(p(y|x) ‖ p(y));
10 is the best possible on 10 classes, real test digits score about 9.9) and the Fréchet
distance between the LeNet's penultimate features of the samples and of the test set (0 for
identical statistics). Each epoch reports them on --eval-every-samples samples; the end of the
run on --eval-samples.

With --out DIR: samples_epoch_NN.png after every epoch (the same fixed noise each time, so the
pictures show the generator learning), samples.png and interpolation.png (straight lines in z
between random points) at the end.
"""
from __future__ import annotations

import numpy as np

from ...cli import fraction, nonnegative_int, positive_int
from ..task import UsageError, load_checkpoint
from ._generative import MNIST_MEAN, MNIST_STD, ImageTask, host

LOSSES = {"non-saturating": "non_saturating", "minimax": "minimax"}


class Gan(ImageTask):
    help = "a GAN (DCGAN or MLP) on digits; per-epoch sample grids, classifier score and Frechet distance"
    defaults = {"epochs": 10, "batch_size": 64, "lr": 2e-4}
    # a finished run resumed with another judge or sample count is judged again
    resume_may_change = ("classifier", "eval_samples", "eval_every_samples", "out")

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        a = p.add_argument
        a("--arch", choices=["dcgan", "mlp"], default="dcgan", help="the generator and discriminator")
        a("--latent", type=positive_int, default=64, help="noise dimensions")
        a("--width", type=positive_int, default=32,
          help="(dcgan) channels of the last generator / first discriminator layer (ngf = ndf)")
        a("--loss", choices=sorted(LOSSES), default="non-saturating", help="the generator's objective")
        a("--label-smoothing", type=fraction, default=0.0, help="one-sided: D's target for real images is 1 - s")
        a("--beta1", type=fraction, default=0.5, help="Adam's beta1 for both networks")
        a("--ema", type=fraction, default=0.999,
          help="decay of the moving average of the generator's weights that samples are drawn from (0: none)")
        a("--classifier", default=None, metavar="CKPT",
          help="a 'deepkern train lenet' checkpoint of the same data to judge samples with "
               "(default: train a LeNet here)")
        a("--classifier-epochs", type=positive_int, default=3, help="epochs of the LeNet trained here")
        a("--eval-samples", type=positive_int, default=10000, help="samples judged at the end")
        a("--eval-every-samples", type=nonnegative_int, default=2000,
          help="samples judged after every epoch (0: no per-epoch score)")

    def check(self):
        super().check()
        a = self.args
        if a.label_smoothing >= 0.5:
            raise UsageError("--label-smoothing", f"expected a value below 0.5, got {a.label_smoothing}")
        if a.eval_samples < 20:
            raise UsageError("--eval-samples", f"expected at least 20 (the score is averaged over 10 splits), got "
                                               f"{a.eval_samples}")
        if 0 < a.eval_every_samples < 20:
            raise UsageError("--eval-every-samples", f"expected 0 or at least 20, got {a.eval_every_samples}")
        if a.classifier is not None:
            self.classifier_ckpt = load_checkpoint(a.classifier, ("lenet",), flag="--classifier")
            family = lambda d: "Fashion-MNIST" if d == "fashion-mnist" else "MNIST"  # noqa: E731
            trained_on = self.classifier_ckpt["args"].get("data", "embedded")
            if family(trained_on) != family(a.data):
                raise UsageError("--classifier", f"{a.classifier} judges {family(trained_on)} images, but --data "
                                                 f"{a.data} is {family(a.data)}")

    def setup(self):
        import deepkern as dk
        from ... import optim
        from ...models import (LeNet, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator)

        self.load_images()
        a = self.args
        if a.arch == "dcgan":
            self.G, self.D = DCGANGenerator(a.latent, ngf=a.width), DCGANDiscriminator(ndf=a.width)
        else:
            self.G, self.D = MLPGenerator(a.latent), MLPDiscriminator()
        self.G.to(self.device)
        self.D.to(self.device)
        self.G_ema = None
        if a.ema:
            self.G_ema = (DCGANGenerator(a.latent, ngf=a.width) if a.arch == "dcgan" else MLPGenerator(a.latent))
            self.G_ema.to(self.device)
            self.G_ema.load_state_dict(self.G.state_dict())
        betas = (a.beta1, 0.999)
        self.opt_g = optim.Adam(self.G.parameters(), lr=a.lr, betas=betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=a.lr, betas=betas)
        self.classifier = LeNet().to(self.device)
        self.classifier_ready = False
        if a.classifier is not None:
            ckpt = self.classifier_ckpt
            act = ckpt["args"].get("activation", "relu")
            self.classifier = LeNet(activation=act, pooling="max" if act == "relu" else "avg").to(self.device)
            self.classifier.load_state_dict(ckpt["state"]["model"])
            self.classifier_ready = True
        self.scorer = None
        self.fixed_noise = np.random.default_rng([a.seed, 3]).standard_normal((64, a.latent)).astype(np.float32)
        n = self.G.num_parameters() + self.D.num_parameters()
        print(f"GAN ({a.arch}, latent {a.latent}, {a.loss} loss"
              + (f", label smoothing {a.label_smoothing:g}" if a.label_smoothing else "")
              + (f", samples from the weights' moving average (decay {a.ema:g})" if a.ema else "")
              + f"): {n:,} parameters (G {self.G.num_parameters():,}, D {self.D.num_parameters():,}); data: {a.data} "
              f"({len(self.train_x)} training, {len(self.test_x)} test images); {dk.get_num_threads()} threads; "
              f"device {self.device}")

    # ---- the judge -------------------------------------------------------------------------
    def train_classifier(self):
        """A LeNet of the training images (normalized as 'deepkern train lenet' does): the judge."""
        import deepkern as dk
        from ... import functional as F
        from ... import optim

        a = self.args
        opt = optim.Adam(self.classifier.parameters(), lr=2e-3)
        sched = optim.lr_scheduler.ExponentialLR(opt, gamma=0.85)
        x = (self.train_x - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)
        self.classifier.train()
        for epoch in range(a.classifier_epochs):
            order = np.random.default_rng([a.seed, 2, epoch]).permutation(len(x))
            desc = f"classifier epoch {epoch + 1}/{a.classifier_epochs}"
            with self.progress(total=-(-len(x) // 64), desc=desc) as bar:
                for i in range(0, len(x), 64):
                    idx = order[i:i + 64]
                    loss = F.cross_entropy(self.classifier(dk.Tensor(self.to_device(x[idx]))),
                                           self.to_device(self.train_y[idx]))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    bar.update()
            sched.step()
        self.classifier_ready = True

    def get_scorer(self):
        from ...models.gan import SampleScorer

        if self.scorer is None:
            if not self.classifier_ready:
                self.train_classifier()
            self.scorer = SampleScorer(self.classifier, self.test_x, MNIST_MEAN, MNIST_STD)
            probs, _ = self.scorer.outputs(self.test_x)
            acc = float((probs.argmax(1) == self.test_y).mean())
            self.log(f"judge: LeNet with test accuracy {100 * acc:.2f}%; the test images' own classifier score "
                     f"{self.scorer.reference_score:.3f}")
        return self.scorer

    def generate(self, z, chunk=500):
        """Images in [0, 1] (N, 1, 28, 28) from noise z (N, latent), in batches of ``chunk``: the
        averaged generator with batch statistics in its batch norms (running statistics belong to
        the generator's own weights), or without --ema the generator in eval mode."""
        from ... import no_grad
        from ...autograd import Tensor

        G = self.G_ema if self.G_ema is not None else self.G
        G.train(self.G_ema is not None)
        try:
            with no_grad():
                out = [host(G(Tensor(self.to_device(z[i:i + chunk])))) for i in range(0, len(z), chunk)]
        finally:
            G.train()
        return (np.concatenate(out) + 1) / 2

    def judge(self, n):
        z = np.random.default_rng([self.args.seed, 4]).standard_normal((n, self.args.latent)).astype(np.float32)
        return self.get_scorer()(self.generate(z))

    # ---- training ------------------------------------------------------------------------
    def train_epoch(self, epoch):
        from ...models.gan import ema_update, gan_step

        a = self.args
        sums, steps = {}, 0
        x = self.train_x * 2 - 1          # tanh's range
        with self.progress(total=len(x) // a.batch_size) as bar:
            for idx in self.batches(len(x), epoch):
                out = gan_step(self.G, self.D, self.opt_g, self.opt_d, self.to_device(x[idx]), a.latent,
                               loss=LOSSES[a.loss], label_smoothing=a.label_smoothing, rng=self.rng)
                if self.G_ema is not None:
                    ema_update(self.G_ema, self.G, a.ema, step=epoch * (len(x) // a.batch_size) + steps)
                for k, v in out.items():
                    sums[k] = sums.get(k, 0.0) + v
                steps += 1
                bar.set_postfix(d_loss=f"{sums['d_loss'] / steps:.3f}", g_loss=f"{sums['g_loss'] / steps:.3f}",
                                refresh=False)
                bar.update()
        logs = {k: v / steps for k, v in sums.items()}
        if a.eval_every_samples:
            result = self.judge(a.eval_every_samples)
            logs.update(score=result["score"], frechet=result["frechet"])
        if a.out is not None:
            from ...viz import save_image
            save_image(self.generate(self.fixed_noise), self.out(f"samples_epoch_{epoch + 1:02d}.png"), nrow=8,
                       value_range=(0, 1), upscale=2)
        return logs

    # ---- state -----------------------------------------------------------------------------
    def state_dict(self):
        state = {"generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict()}
        if self.G_ema is not None:
            state["generator_ema"] = self.G_ema.state_dict()
        if self.classifier_ready and self.args.classifier is None:   # trained here: keep it for --resume
            state["classifier"] = self.classifier.state_dict()
        return state

    def load_state_dict(self, state):
        self.G.load_state_dict(state["generator"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["generator_ema"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if "classifier" in state and self.args.classifier is None:
            self.classifier.load_state_dict(state["classifier"])
            self.classifier_ready = True

    # ---- results ---------------------------------------------------------------------------
    def finish(self):
        a = self.args
        result = self.judge(a.eval_samples)
        print(f"{a.eval_samples} samples: classifier score {result['score']:.3f} ± {result['score_std']:.3f} "
              f"(test images: {self.scorer.reference_score:.3f}), Fréchet distance {result['frechet']:.3f}")
        if a.out is None:
            return
        from ...viz import save_image
        rng = np.random.default_rng([a.seed, 5])
        z = rng.standard_normal((100, a.latent)).astype(np.float32)
        ends = rng.standard_normal((2, 8, a.latent)).astype(np.float32)
        t = np.linspace(0, 1, 10, dtype=np.float32)[None, :, None]
        line = ((1 - t) * ends[0][:, None] + t * ends[1][:, None]).reshape(-1, a.latent)
        paths = [save_image(self.generate(z), self.out("samples.png"), nrow=10, value_range=(0, 1), upscale=2),
                 save_image(self.generate(line), self.out("interpolation.png"), nrow=10, value_range=(0, 1),
                            upscale=2)]
        print("pictures: " + ", ".join(map(str, paths)))
