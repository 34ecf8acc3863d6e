"""What the digit-classification tasks (lenet, mlp) share: data selection, loaders, the
optimizer and schedule from the command line, early stopping on a validation split, and the
test-set report."""
from __future__ import annotations

import os

import numpy as np

from ...cli import fraction, nonnegative_float, positive_float, positive_int
from ..task import Task, UsageError

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "rmsprop": 1e-3, "adam": 2e-3}


class DigitsTask(Task):
    """A classifier of 28x28 digits; subclasses define ``build_model()``."""

    defaults = {"epochs": 8, "batch_size": 64, "lr": None}
    data_parallel = True
    core_help = {"lr": "learning rate (default: sgd 0.1, momentum 0.05, rmsprop 1e-3, adam 2e-3)",
                 "data_dir": "directory with the IDX files of --data mnist / fashion-mnist "
                             "(default: deepkern's cache directory)"}

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--data", choices=["embedded", "mnist", "fashion-mnist"], default="embedded",
          help="embedded: the MNIST subset shipped with deepkern (20,000 training images, the official "
               "10,000 test images; no network); mnist / fashion-mnist: the full sets from --data-dir")
        a("--download", action="store_true", help="download the full set into --data-dir when missing")
        a("--optimizer", choices=sorted(DEFAULT_LR), default="adam")
        a("--lr-decay", type=positive_float, default=0.85, help="multiply the learning rate by this after every epoch")
        a("--weight-decay", type=nonnegative_float, default=0.0, help="L2 penalty added to the gradients by the optimizer")
        a("--augment", action="store_true", help="random translations by up to 2 pixels")
        a("--val-split", type=fraction, default=0.0,
          help="hold out this fraction of the training set for validation and stop early on it")
        a("--patience", type=positive_int, default=3, help="epochs without validation improvement before stopping")
        a("--train-samples", type=positive_int, default=None, help="train on the first N training images only")
        a("--test-samples", type=positive_int, default=None, help="test on the first N test images only")

    def build_model(self):
        raise NotImplementedError

    def check(self):
        args = self.args
        if args.download and args.data != "embedded" and args.data_dir is not None:
            os.makedirs(args.data_dir, exist_ok=True)
        super().check()
        if args.data == "embedded" and (args.data_dir is not None or args.download):
            flag = "--data-dir" if args.data_dir is not None else "--download"
            raise UsageError(flag, "only used with --data mnist or fashion-mnist (the embedded subset is "
                                   "inside deepkern)")

    def datasets(self):
        from ...data import MNIST, FashionMNIST, MNISTSubset, Subset, transforms as T

        args = self.args
        norm = T.Normalize(MNIST_MEAN, MNIST_STD)
        if args.data == "embedded":
            train, test = MNISTSubset(True, transform=norm), MNISTSubset(False, transform=norm)
        else:
            cls = MNIST if args.data == "mnist" else FashionMNIST
            try:
                train = cls(args.data_dir, train=True, download=args.download, transform=norm)
                test = cls(args.data_dir, train=False, download=args.download, transform=norm)
            except FileNotFoundError as e:
                raise UsageError("--data-dir", f"{e}; add --download to fetch it") from None
        if args.train_samples is not None:
            train = Subset(train, np.arange(min(args.train_samples, len(train))))
        if args.test_samples is not None:
            test = Subset(test, np.arange(min(args.test_samples, len(test))))
        return train, test

    def setup(self):
        import deepkern as dk
        from ... import optim
        from ...data import DataLoader, random_split, transforms as T
        from .. import EarlyStopping

        args = self.args
        self.model = self.parallel(self.build_model().to(self.device))
        train, test = self.datasets()
        val = None
        if args.val_split > 0:
            n_val = max(1, int(round(args.val_split * len(train))))
            if n_val >= len(train):
                raise UsageError("--val-split", f"{args.val_split} leaves no training image of {len(train)}")
            train, val = random_split(train, [len(train) - n_val, n_val], seed=args.seed)
        # the value of a black pixel after normalization: translated digits get black borders
        background = (0.0 - MNIST_MEAN) / MNIST_STD
        augment = T.RandomCrop(28, padding=2, fill=background) if args.augment else None
        self.train_loader = self.make_train_loader(train, args.batch_size, transform=augment)
        eval_batch = max(args.batch_size, 500)
        self.val_loader = DataLoader(val, batch_size=eval_batch) if val is not None else None
        self.test_loader = DataLoader(test, batch_size=eval_batch)
        self.n_train, self.n_test = len(train), len(test)

        params = list(self.model.parameters())
        self.lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
        if args.optimizer == "adam":
            self.optimizer = optim.Adam(params, lr=self.lr, weight_decay=args.weight_decay)
        elif args.optimizer == "rmsprop":
            self.optimizer = optim.RMSprop(params, lr=self.lr, weight_decay=args.weight_decay)
        else:
            self.optimizer = optim.SGD(params, lr=self.lr, momentum=0.9 if args.optimizer == "momentum" else 0.0,
                                       weight_decay=args.weight_decay)
        self.scheduler = optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=args.lr_decay)
        self.early = EarlyStopping("val_accuracy", patience=args.patience) if val is not None else None
        if self.early is not None:
            self.early.on_train_begin(self)
        print(f"{type(self._saved('model')).__name__}: {sum(p.size for p in params):,} parameters; data: {args.data} "
              f"({self.n_train} training, {self.n_test} test images); {args.optimizer} lr={self.lr:g} "
              f"decay={args.lr_decay:g}; {dk.get_num_threads()} threads; device {self.device}")

    def train_epoch(self, epoch):
        from ... import functional as F
        from .. import evaluate, train_epoch

        self.train_loader.set_epoch(epoch)
        lr = self.optimizer.param_groups[0]["lr"]
        with self.progress(total=len(self.train_loader)) as bar:
            logs = train_epoch(self.model, F.cross_entropy, self.optimizer, self.train_loader, device=self.device,
                               bar=bar)
        if self.val_loader is not None:
            val = evaluate(self.model, self.val_loader, F.cross_entropy, device=self.device)
            logs.update({f"val_{k}": v for k, v in val.items()})
            self.early.on_epoch_end(self, logs)  # sets self.stop_training
        logs["lr"] = lr
        self.scheduler.step()
        return logs

    def state_dict(self):
        state = super().state_dict()
        if self.early is not None:
            state["early_stopping"] = self.early.state_dict()
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        if self.early is not None:
            self.early.load_state_dict(state["early_stopping"])

    def finish(self):
        from ... import functional as F
        from .. import evaluate

        if self.early is not None:
            self.early.on_train_end(self)  # the best epoch's weights
            if self.early.best_epoch:
                print(f"best validation accuracy {self.early.best:.4f} in epoch {self.early.best_epoch}")
        result = evaluate(self.model, self.test_loader, F.cross_entropy, device=self.device)
        print(f"trained {len(self.history)} epochs; test accuracy {100 * result['accuracy']:.2f}% "
              f"(loss {result['loss']:.4f}, {self.n_test} images)")
