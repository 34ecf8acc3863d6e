"""``deepkern train autoencoder``: the course's autoencoders on handwritten digits (or clothes).

--kind picks the variant (deepkern.models.autoencoder has the formulas):
  plain        under-complete MLP (or --arch conv: convolutional) autoencoder
  tied         the decoder uses the encoder's transposed weights
  sparse       + a sparsity penalty on the code: KL to a target activation (--sparsity kl) or L1
  denoising    the encoder sees corrupted inputs (--noise masking or gaussian), the loss the clean ones
  contractive  + λ‖∂h/∂x‖²_F of a one-layer sigmoid encoder
  stacked      greedy layer-wise pre-training of shallow models (--pretrain rbm: Bernoulli RBMs with
               CD-1, as Hinton & Salakhutdinov 2006; or tied autoencoders), unrolled into a deep
               autoencoder and fine-tuned; its first len(--sizes)-1 times --pretrain-epochs epochs
               pre-train, the last --epochs fine-tune

Each epoch reports the training loss and the test set's reconstruction error (cross-entropy in
nats per image and mean squared error per pixel). At the end a linear probe (logistic
regression on the codes of the training set, tested on the test set's) judges the features,
beside the same probe on raw pixels. With --out DIR: reconstructions.png (inputs over their
reconstructions), filters.png (each first-layer unit's weights as a picture), max_activating.png
(per unit, the test images that excite it most).
"""
from __future__ import annotations

import numpy as np

from ...cli import nonnegative_float, positive_float, positive_int
from ..task import UsageError
from ._generative import ImageTask, host, linear_probe, save_filters, save_max_activating, save_pairs

KINDS = ("plain", "tied", "sparse", "denoising", "contractive", "stacked")
DEFAULT_SIZES = {"plain": [784, 256, 64], "tied": [784, 256, 64], "sparse": [784, 256], "denoising": [784, 256, 64],
                 "contractive": [784, 256], "stacked": [784, 500, 250, 30]}


class Autoencoder(ImageTask):
    help = "autoencoders: plain, tied, sparse, denoising, contractive, stacked (RBM pre-training); linear probe"
    defaults = {"epochs": 10, "batch_size": 64, "lr": 1e-3}
    # a finished run resumed with other values of these evaluates and draws again
    resume_may_change = ("out", "probe_epochs")

    @classmethod
    def add_arguments(cls, p):
        super().add_arguments(p)
        a = p.add_argument
        a("--kind", choices=KINDS, default="plain", help="which autoencoder (see the description above)")
        a("--arch", choices=["mlp", "conv"], default="mlp",
          help="conv: the convolutional autoencoder (kinds plain, sparse with --sparsity l1, denoising)")
        a("--sizes", type=positive_int, nargs="+", default=None, metavar="N",
          help="encoder widths from the input (784) to the code (default: plain/tied/denoising 784 256 64, "
               "sparse/contractive 784 256, stacked 784 500 250 30; conv: the code size alone, default 32)")
        a("--activation", choices=["relu", "sigmoid", "tanh"], default=None,
          help="hidden nonlinearity (default: relu; sigmoid for sparse, contractive and stacked)")
        a("--loss", choices=["bce", "mse"], default="bce", help="reconstruction loss: Bernoulli cross-entropy or "
                                                                "squared error, summed over pixels")
        a("--sparsity", choices=["kl", "l1"], default="kl", help="(sparse) the penalty on the code")
        a("--sparsity-weight", type=nonnegative_float, default=None,
          help="(sparse) its weight (default: kl 0.5, l1 1e-3)")
        a("--sparsity-target", type=positive_float, default=0.05, help="(sparse, kl) target mean activation rho")
        a("--noise", choices=["masking", "gaussian"], default="masking", help="(denoising) the corruption")
        a("--noise-level", type=nonnegative_float, default=None,
          help="(denoising) fraction of zeroed inputs (masking, default 0.3) or the noise's sigma (gaussian, "
               "default 0.5)")
        a("--contractive-weight", type=nonnegative_float, default=0.1, help="(contractive) lambda")
        a("--pretrain", choices=["rbm", "autoencoder"], default="rbm", help="(stacked) the shallow models")
        a("--pretrain-epochs", type=positive_int, default=5, help="(stacked) epochs per pre-trained level")
        a("--pretrain-lr", type=positive_float, default=None,
          help="(stacked) pre-training learning rate (default: rbm 0.05 with SGD, autoencoder 3e-3 with Adam)")
        a("--probe-epochs", type=positive_int, default=10, help="epochs of the linear probe")

    # ---- checks and setup ------------------------------------------------------------------
    def check(self):
        super().check()
        a = self.args
        if a.arch == "conv" and a.kind not in ("plain", "sparse", "denoising"):
            raise UsageError("--arch", f"conv is available for --kind plain, sparse (--sparsity l1) and denoising, "
                                       f"not {a.kind}")
        if a.arch == "conv" and a.kind == "sparse" and a.sparsity != "l1":
            raise UsageError("--sparsity", "the convolutional autoencoder takes --sparsity l1 (its code is linear)")
        if a.arch == "conv" and a.sizes is not None and len(a.sizes) != 1:
            raise UsageError("--sizes", f"--arch conv takes one number, the code size, got {len(a.sizes)}")
        if a.arch == "conv" and a.activation is not None:
            raise UsageError("--activation", "the convolutional autoencoder uses ReLU")
        sigmoid_only = a.kind in ("contractive", "stacked") or (a.kind == "sparse" and a.sparsity == "kl")
        if sigmoid_only and a.activation not in (None, "sigmoid"):
            raise UsageError("--activation", f"--kind {a.kind}{' (kl)' if a.kind == 'sparse' else ''} needs sigmoid "
                                             f"units, got {a.activation}")
        sizes = self.sizes()
        if a.arch == "mlp":
            if sizes[0] != 784 or len(sizes) < 2:
                raise UsageError("--sizes", f"must start with the 784 pixels and give at least the code size, got "
                                            f"{' '.join(map(str, sizes))}")
            if a.kind == "contractive" and len(sizes) != 2:
                raise UsageError("--sizes", "the contractive penalty's closed form needs one encoder layer "
                                            f"(784 K), got {' '.join(map(str, sizes))}")
        if a.kind == "sparse" and a.sparsity == "kl" and not 0 < a.sparsity_target < 1:
            raise UsageError("--sparsity-target", f"expected a number in (0, 1), got {a.sparsity_target}")
        if a.kind == "denoising" and a.noise == "masking" and self.noise_level() >= 1:
            raise UsageError("--noise-level", f"the masking fraction must be below 1, got {self.noise_level()}")

    def sizes(self):
        a = self.args
        if a.sizes is not None:
            return list(a.sizes)
        return [32] if a.arch == "conv" else list(DEFAULT_SIZES[a.kind])

    def noise_level(self):
        a = self.args
        return a.noise_level if a.noise_level is not None else (0.3 if a.noise == "masking" else 0.5)

    def build_model(self):
        from ...models import Autoencoder as AE, ConvAutoencoder

        a = self.args
        sparse = dict(sparsity=a.sparsity, sparsity_target=a.sparsity_target,
                      sparsity_weight=a.sparsity_weight if a.sparsity_weight is not None else
                      (0.5 if a.sparsity == "kl" else 1e-3)) if a.kind == "sparse" else {}
        noise = dict(noise=a.noise, noise_level=self.noise_level()) if a.kind == "denoising" else {}
        if a.arch == "conv":
            return ConvAutoencoder(code=self.sizes()[0], loss=a.loss, **sparse, **noise)
        sigmoid = a.kind in ("contractive", "stacked") or (a.kind == "sparse" and a.sparsity == "kl")
        activation = a.activation or ("sigmoid" if sigmoid else "relu")
        return AE(self.sizes(), activation=activation, tied=a.kind == "tied", loss=a.loss,
                  contractive_weight=a.contractive_weight if a.kind == "contractive" else 0.0, **sparse, **noise)

    def setup(self):
        import deepkern as dk
        from ... import optim

        self.load_images()
        a = self.args
        self.levels = len(self.sizes()) - 1 if a.kind == "stacked" else 0
        self.pretrain_total = self.levels * a.pretrain_epochs
        self.epochs = self.pretrain_total + a.epochs
        self.layers = []                  # (stacked) the pre-trained levels: (W, hidden bias, visible bias)
        self.shallow = self.shallow_opt = None
        if a.kind == "stacked":
            self.unrolled = None          # the unrolled network's test error, before fine-tuning
            detail = (f"{self.levels} levels x {a.pretrain_epochs} epochs of {a.pretrain} pre-training, then "
                      f"{a.epochs} epochs of fine-tuning")
            n_params = sum(i * o for i, o in zip(self.sizes()[:-1], self.sizes()[1:])) * 2 + sum(self.sizes()) * 2
        else:
            self.model = self.build_model().to(self.device)
            self.optimizer = optim.Adam(self.model.parameters(), lr=a.lr)
            detail = f"{a.epochs} epochs"
            n_params = self.model.num_parameters()
        shape = " ".join(map(str, self.sizes()))
        print(f"{a.kind} autoencoder ({a.arch}, sizes {shape}): {n_params:,} parameters; data: {a.data} "
              f"({len(self.train_x)} training, {len(self.test_x)} test images); {detail}; "
              f"{dk.get_num_threads()} threads; device {self.device}")

    # ---- stacked: pre-training phases ---------------------------------------------------------
    def _codes(self, x):
        """x (N, 784) through the pre-trained levels so far (sigmoid units)."""
        h = x
        for w, bh, _ in self.layers:
            h = 1.0 / (1.0 + np.exp(-(h @ w.T + bh)))
        return h.astype(np.float32)

    def _new_shallow(self, level):
        """The shallow model of pre-training level ``level`` and its optimizer."""
        from ... import optim
        from ...models import RBM, Autoencoder as AE

        a = self.args
        n_in, n_out = self.sizes()[level], self.sizes()[level + 1]
        if a.pretrain == "rbm":
            self.shallow = RBM(n_in, n_out).to(self.device)
            self.shallow_opt = optim.SGD(self.shallow.parameters(), lr=a.pretrain_lr or 0.05, momentum=0.5,
                                         weight_decay=2e-4)
        else:
            self.shallow = AE([n_in, n_out], activation="sigmoid", tied=True).to(self.device)
            self.shallow_opt = optim.Adam(self.shallow.parameters(), lr=a.pretrain_lr or 3e-3)

    def _pretrain_epoch(self, epoch):
        a = self.args
        level, local = divmod(epoch, a.pretrain_epochs)
        if local == 0:
            self._new_shallow(level)
        if a.pretrain == "rbm":   # Hinton's guide: momentum 0.5 at first, 0.9 once learning settles
            self.shallow_opt.param_groups[0]["momentum"] = 0.5 if local < min(5, a.pretrain_epochs // 2) else 0.9
        codes = self._codes(self.train_x.reshape(len(self.train_x), -1))
        total, seen = 0.0, 0
        with self.progress(total=len(codes) // a.batch_size, desc=f"pre-train level {level + 1}/{self.levels}, "
                                                                    f"epoch {local + 1}/{a.pretrain_epochs}") as bar:
            for idx in self.batches(len(codes), epoch):
                batch = self.to_device(codes[idx])
                self.shallow_opt.zero_grad()
                if a.pretrain == "rbm":
                    err = self.shallow.contrastive_divergence(batch, rng=self.rng)
                else:
                    loss, recon = self.shallow.loss(batch)
                    loss.backward()
                    err = recon.item()
                self.shallow_opt.step()
                total, seen = total + err * len(idx), seen + len(idx)
                bar.update()
        if local + 1 == a.pretrain_epochs:
            if a.pretrain == "rbm":
                params = (self.shallow.weight, self.shallow.hidden_bias, self.shallow.visible_bias)
            else:
                params = (self.shallow.encoder[0].weight, self.shallow.encoder[0].bias, self.shallow.decoder[0].bias)
            self.layers.append(tuple(host(p.data).copy() for p in params))
            self.shallow = self.shallow_opt = None
        key = "recon_error" if a.pretrain == "rbm" else "recon_bce"
        return {f"level{level + 1}_{key}": total / max(1, seen)}

    def _unroll(self):
        from ... import optim
        from ...models import DeepAutoencoder

        self.model = DeepAutoencoder.from_stack(self.layers, loss=self.args.loss).to(self.device)
        self.optimizer = optim.Adam(self.model.parameters(), lr=self.args.lr)
        bce, mse = self.test_error()
        self.unrolled = (bce, mse)
        self.log(f"unrolled {len(self.layers)}-level stack before fine-tuning: test {bce:.2f} nats per image, "
                 f"MSE {mse:.5f}")

    # ---- training ------------------------------------------------------------------------
    def train_epoch(self, epoch):
        if epoch < self.pretrain_total:
            return self._pretrain_epoch(epoch)
        if self.model is None:
            self._unroll()
        a = self.args
        self.model.train()
        total, recon, seen = 0.0, 0.0, 0
        x = self.train_x
        with self.progress(total=len(x) // a.batch_size) as bar:
            for idx in self.batches(len(x), epoch):
                loss, rec = self.model.loss(self.to_device(x[idx]))
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                total, recon, seen = total + loss.item() * len(idx), recon + rec.item() * len(idx), seen + len(idx)
                bar.set_postfix(loss=f"{total / seen:.4g}", refresh=False)
                bar.update()
        err, mse = self.test_error()
        return {"loss": total / seen, "recon": recon / seen, "test_" + ("bce" if a.loss == "bce" else "sse"): err,
                "test_mse": mse}

    def _eval_chunks(self, x, fn, chunk=1000):
        from ... import no_grad
        from ...autograd import Tensor

        self.model.eval()
        try:
            with no_grad():
                return [fn(Tensor(self.to_device(x[i:i + chunk]))) for i in range(0, len(x), chunk)]
        finally:
            self.model.train()

    def test_error(self):
        """(reconstruction loss per image, squared error per pixel) on the test set."""
        from ... import functional as F
        from ...models.autoencoder import reconstruction_loss

        def fn(x):
            logits = self.model(x).reshape(x.shape[0], -1)
            flat = x.reshape(x.shape[0], -1)
            err = F.sigmoid(logits) - flat
            return (reconstruction_loss(logits, flat, self.args.loss).item() * x.shape[0],
                    float((err * err).sum().item()))
        parts = self._eval_chunks(self.test_x, fn)
        n = len(self.test_x)
        return sum(p[0] for p in parts) / n, sum(p[1] for p in parts) / (n * 784)

    def codes(self, x):
        return np.concatenate(self._eval_chunks(x, lambda t: host(self.model.encode(t))))

    def first_layer(self):
        """(weights (H, 784), activations fn) of the first hidden layer, or the codes for conv."""
        if self.args.arch == "conv":
            return None, self.codes
        inner = getattr(self.model, "inner", self.model)
        layer = inner.encoder[0]
        return host(layer.weight.data), lambda x: np.concatenate(
            self._eval_chunks(x, lambda t: host(inner.act(layer(t.reshape(t.shape[0], -1))))))

    # ---- state -----------------------------------------------------------------------------
    def state_dict(self):
        state = super().state_dict()
        state["layers"] = {f"{i}.{name}": v for i, layer in enumerate(self.layers)
                           for name, v in zip(("weight", "hidden_bias", "visible_bias"), layer)}
        if self.shallow is not None:
            state["shallow"], state["shallow_optimizer"] = self.shallow.state_dict(), self.shallow_opt.state_dict()
        if getattr(self, "unrolled", None) is not None:
            state["unrolled"] = np.asarray(self.unrolled)
        return state

    def load_state_dict(self, state):
        from ... import optim
        from ...models import DeepAutoencoder

        layers = state.get("layers", {})
        self.layers = [tuple(np.asarray(layers[f"{i}.{n}"]) for n in ("weight", "hidden_bias", "visible_bias"))
                       for i in range(len(layers) // 3)]
        if "shallow" in state:
            self._new_shallow(len(self.layers))
            self.shallow.load_state_dict(state["shallow"])
            self.shallow_opt.load_state_dict(state["shallow_optimizer"])
        if "unrolled" in state:
            self.unrolled = tuple(float(v) for v in np.asarray(state["unrolled"]))
        if self.args.kind == "stacked" and "model" in state:
            self.model = DeepAutoencoder(self.sizes(), loss=self.args.loss).to(self.device)
            self.optimizer = optim.Adam(self.model.parameters(), lr=self.args.lr)
        super().load_state_dict(state)

    # ---- results ---------------------------------------------------------------------------
    def finish(self):
        a = self.args
        if self.model is None:        # stacked, stopped during pre-training
            print(f"pre-trained {len(self.layers)} of {self.levels} levels; no fine-tuned model yet")
            return
        bce, mse = self.test_error()
        name = "cross-entropy" if a.loss == "bce" else "squared error"
        if a.kind == "stacked" and getattr(self, "unrolled", None) is not None:
            print(f"unrolled stack before fine-tuning: test {name} {self.unrolled[0]:.2f} per image, "
                  f"MSE {self.unrolled[1]:.5f} per pixel")
        print(f"test reconstruction: {name} {bce:.2f} per image, MSE {mse:.5f} per pixel "
              f"({len(self.test_x)} images)")
        train_codes, test_codes = self.codes(self.train_x), self.codes(self.test_x)
        acc = linear_probe(train_codes, self.train_y, test_codes, self.test_y, epochs=a.probe_epochs, seed=a.seed)
        pixels = linear_probe(self.train_x.reshape(len(self.train_x), -1), self.train_y,
                              self.test_x.reshape(len(self.test_x), -1), self.test_y, epochs=a.probe_epochs,
                              seed=a.seed)
        print(f"linear probe on the {test_codes.shape[1]}-d codes: test accuracy {100 * acc:.2f}% "
              f"(on the raw pixels: {100 * pixels:.2f}%)")
        if a.out is not None:
            self.pictures()

    def pictures(self):
        from ... import functional as F

        x = self.test_x[:30]
        recon = np.concatenate(self._eval_chunks(x, lambda t: host(F.sigmoid(self.model(t)))))
        rows = [x, recon.reshape(x.shape)]
        if self.args.kind == "denoising":
            from ...models.autoencoder import corrupt
            noisy = corrupt(x, self.args.noise, self.noise_level(), rng=np.random.default_rng(0))
            seen = np.concatenate(self._eval_chunks(noisy, lambda t: host(F.sigmoid(self.model(t)))))
            rows = [x, np.clip(noisy, 0, 1), seen.reshape(x.shape)]
        paths = [save_pairs(rows, self.out("reconstructions.png"))]
        weights, activations = self.first_layer()
        if weights is not None:
            paths.append(save_filters(weights, self.out("filters.png")))
        paths.append(save_max_activating(activations(self.test_x), self.test_x, self.out("max_activating.png")))
        print("pictures: " + ", ".join(map(str, paths)))
