"""What the unsupervised and generative tasks (autoencoder, rbm, vae, gan) share: the images
(the MNIST subset shipped with deepkern, or full MNIST / Fashion-MNIST from --data-dir) as
in-memory arrays of pixels in [0, 1], shuffled batches keyed on (seed, epoch) so a resumed run
takes the same batches, the --out directory of PNG pictures, and the linear probe that judges
learned features."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...cli import positive_int
from ..task import Task, UsageError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class ImageTask(Task):
    """A task on 28x28 grayscale images; ``setup`` calls :meth:`load_images` for ``self.train_x``,
    ``self.train_y``, ``self.test_x``, ``self.test_y`` ((N, 1, 28, 28) float32 in [0, 1], int64)."""

    core_help = {"data_dir": "directory with the IDX files of --data mnist / fashion-mnist "
                             "(default: deepkern's cache directory)"}

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--data", choices=["embedded", "mnist", "fashion-mnist"], default="embedded",
          help="embedded: the MNIST subset shipped with deepkern (20,000 training images, the official 10,000 "
               "test images; no network); mnist / fashion-mnist: the full sets from --data-dir")
        a("--download", action="store_true", help="download the full set into --data-dir when missing")
        a("--train-samples", type=positive_int, default=None, metavar="N", help="train on the first N images only")
        a("--test-samples", type=positive_int, default=None, metavar="N", help="test on the first N images only")
        a("--out", default=None, metavar="DIR",
          help="write the pictures (PNG) into DIR; needs Pillow or matplotlib")

    def check(self):
        args = self.args
        if args.download and args.data != "embedded" and args.data_dir is not None:
            os.makedirs(args.data_dir, exist_ok=True)
        super().check()
        if args.data == "embedded" and (args.data_dir is not None or args.download):
            flag = "--data-dir" if args.data_dir is not None else "--download"
            raise UsageError(flag, "only used with --data mnist or fashion-mnist (the embedded subset is inside "
                                   "deepkern)")
        if args.out is not None:
            from ...viz import require_png_writer
            try:
                require_png_writer()
            except ImportError:
                raise UsageError("--out", "needs Pillow or matplotlib, neither is installed: pip install pillow "
                                          "(or pip install 'deepkern[images]')") from None
            if os.path.isfile(args.out):
                raise UsageError("--out", f"{args.out} is a file (give a directory)")
            try:
                os.makedirs(args.out, exist_ok=True)
            except OSError as e:
                raise UsageError("--out", f"cannot create {args.out}: {e.strerror}") from None

    def load_images(self):
        from ...data import MNIST, FashionMNIST, MNISTSubset

        args = self.args
        if args.data == "embedded":
            train, test = MNISTSubset(True), MNISTSubset(False)
        else:
            cls = MNIST if args.data == "mnist" else FashionMNIST
            try:
                train = cls(args.data_dir, train=True, download=args.download)
                test = cls(args.data_dir, train=False, download=args.download)
            except FileNotFoundError as e:
                raise UsageError("--data-dir", f"{e}; add --download to fetch it") from None
        n_train = len(train) if args.train_samples is None else min(args.train_samples, len(train))
        n_test = len(test) if args.test_samples is None else min(args.test_samples, len(test))
        pixels = lambda d, n: (d.data[:n, None] / np.float32(255)).astype(np.float32)  # noqa: E731
        self.train_x, self.train_y = pixels(train, n_train), train.targets[:n_train]
        self.test_x, self.test_y = pixels(test, n_test), test.targets[:n_test]
        if len(self.train_x) < args.batch_size:
            raise UsageError("--batch-size", f"{args.batch_size} is more than the {len(self.train_x)} training "
                                             "images")

    def batches(self, n, epoch):
        """Index arrays of --batch-size over a permutation of range(n) fixed by (seed, epoch); the
        last, smaller batch is dropped so every step sees a full batch."""
        order = np.random.default_rng([self.args.seed, epoch]).permutation(n)
        b = self.args.batch_size
        return [order[i:i + b] for i in range(0, n - b + 1, b)]

    def out(self, name):
        """The path of picture ``name`` in --out (None without --out)."""
        return None if self.args.out is None else Path(self.args.out) / name

    def to_device(self, x):
        from ..._device import to_device
        return to_device(x, self.device)


def host(a):
    """A NumPy copy of a NumPy or CuPy array (or Tensor)."""
    a = getattr(a, "data", a)
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def linear_probe(train_x, train_y, test_x, test_y, epochs=10, batch_size=256, lr=1e-2, seed=0):
    """Test accuracy of a logistic-regression classifier (softmax over one Linear layer) trained
    on features ``train_x`` (N, k) -> labels: how linearly the classes can be read off them.
    Features are standardized with the training set's mean and std first; the weights start at
    zero and the batches follow ``seed``, so the result depends on the features alone."""
    import deepkern as dk
    from ... import functional as F
    from ... import nn, optim

    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    tr = ((train_x - mean) / std).astype(np.float32)
    te = ((test_x - mean) / std).astype(np.float32)
    classes = int(max(train_y.max(), test_y.max())) + 1
    rng = np.random.default_rng(seed)
    layer = nn.Linear(tr.shape[1], classes)
    for p in layer.parameters():      # zeros: the problem is convex, and the result depends on seed alone
        p.data[...] = 0
    opt = optim.Adam(layer.parameters(), lr=lr)
    for _ in range(epochs):
        order = rng.permutation(len(tr))
        for i in range(0, len(tr), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(layer(dk.Tensor(tr[idx])), train_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with dk.no_grad():
        pred = np.concatenate([layer(dk.Tensor(te[i:i + 4096])).data.argmax(1) for i in range(0, len(te), 4096)])
    return float((pred == test_y).mean())


def save_pairs(rows, path, per_row=10):
    """Write groups of rows (lists of (N, 1, 28, 28) arrays in [0, 1], e.g. inputs over their
    reconstructions) as one PNG: each group's arrays one under the other, ``per_row`` images wide."""
    from ...viz import save_image

    n = min(len(r) for r in rows)
    groups = [np.concatenate([host(r)[i:i + per_row] for r in rows]) for i in range(0, n - per_row + 1, per_row)]
    return save_image(np.concatenate(groups), path, nrow=per_row, value_range=(0, 1), upscale=2)


def save_max_activating(acts, images, path, units=16, top=8):
    """For each of the first ``units`` hidden units (columns of ``acts`` (N, H)), the ``top``
    images that activate it most, one unit per row."""
    from ...viz import save_image

    acts = host(acts)
    units = min(units, acts.shape[1])
    rows = [host(images)[np.argsort(-acts[:, u], kind="stable")[:top]] for u in range(units)]
    return save_image(np.concatenate(rows), path, nrow=top, value_range=(0, 1), upscale=2)


def save_filters(weights, path, per_row=10, limit=100):
    """Each hidden unit's incoming weights (rows of ``weights`` (H, 784)) as a 28x28 picture,
    each scaled to its own range."""
    from ...viz import save_image

    w = host(weights)[:limit]
    return save_image(w.reshape(len(w), 1, 28, 28), path, nrow=per_row, scale_each=True, upscale=2)
