"""What the digit-classification tasks (lenet, mlp) share: data selection, loaders, the
optimizer and schedule from the command line, the training run and its report."""
from __future__ import annotations

import time

import numpy as np

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.05, "rmsprop": 1e-3, "adam": 2e-3}


def add_common_arguments(parser, epochs):
    a = parser.add_argument
    a("--data", choices=["embedded", "mnist", "fashion-mnist"], default="embedded",
      help="embedded: the MNIST subset shipped with deepkern (20,000 training images, the official "
           "10,000 test images; no network); mnist / fashion-mnist: the full sets from --data-dir")
    a("--data-dir", default=None, help="directory with the IDX files (default: the deepkern cache directory)")
    a("--download", action="store_true", help="download the full set into --data-dir when missing")
    a("--epochs", type=int, default=epochs)
    a("--batch-size", type=int, default=64)
    a("--optimizer", choices=sorted(DEFAULT_LR), default="adam")
    a("--lr", type=float, default=None, help="learning rate (default: sgd 0.1, momentum 0.05, rmsprop 1e-3, adam 2e-3)")
    a("--lr-decay", type=float, default=0.85, help="multiply the learning rate by this after every epoch")
    a("--weight-decay", type=float, default=0.0, help="L2 penalty added to the gradients by the optimizer")
    a("--augment", action="store_true", help="random translations by up to 2 pixels")
    a("--val-split", type=float, default=0.0,
      help="hold out this fraction of the training set for validation and stop early on it")
    a("--patience", type=int, default=3, help="epochs without validation improvement before stopping")
    a("--train-samples", type=int, default=None, help="train on the first N training images only")
    a("--test-samples", type=int, default=None, help="test on the first N test images only")
    a("--device", choices=["cpu", "cuda"], default="cpu")
    a("--checkpoint", default=None, metavar="PATH", help="save the training state here after every epoch")
    a("--resume", action="store_true", help="continue from --checkpoint when it exists")
    a("--plot", default=None, metavar="PNG", help="draw the learning curves into this PNG")
    a("--seed", type=int, default=0)
    a("--threads", type=int, default=None, help="CPU threads for the kernels (default: all cores)")
    a("--quiet", action="store_true", help="no progress bars")


def datasets(args):
    from ...data import MNIST, FashionMNIST, MNISTSubset, Subset, transforms as T

    norm = T.Normalize(MNIST_MEAN, MNIST_STD)
    if args.data == "embedded":
        train, test = MNISTSubset(True, transform=norm), MNISTSubset(False, transform=norm)
    else:
        cls = MNIST if args.data == "mnist" else FashionMNIST
        train = cls(args.data_dir, train=True, download=args.download, transform=norm)
        test = cls(args.data_dir, train=False, download=args.download, transform=norm)
    if args.train_samples is not None:
        train = Subset(train, np.arange(min(args.train_samples, len(train))))
    if args.test_samples is not None:
        test = Subset(test, np.arange(min(args.test_samples, len(test))))
    return train, test


def run_classifier(args, model) -> int:
    import deepkern as dk
    from ... import functional as F
    from ... import optim
    from ...data import DataLoader, random_split, transforms as T
    from .. import Checkpoint, EarlyStopping, evaluate, fit

    if args.threads is not None:
        dk.set_num_threads(args.threads)
    if args.resume and not args.checkpoint:
        raise SystemExit("--resume needs --checkpoint PATH")
    train, test = datasets(args)
    val = None
    if args.val_split > 0:
        n_val = max(1, int(round(args.val_split * len(train))))
        train, val = random_split(train, [len(train) - n_val, n_val], seed=args.seed)
    # the value of a black pixel after normalization: translated digits get black borders
    background = (0.0 - MNIST_MEAN) / MNIST_STD
    augment = T.RandomCrop(28, padding=2, fill=background) if args.augment else None
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, seed=args.seed, transform=augment)
    eval_batch = max(args.batch_size, 500)
    val_loader = DataLoader(val, batch_size=eval_batch) if val is not None else None
    test_loader = DataLoader(test, batch_size=eval_batch)

    params = list(model.parameters())
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    if args.optimizer == "adam":
        opt = optim.Adam(params, lr=lr, weight_decay=args.weight_decay)
    elif args.optimizer == "rmsprop":
        opt = optim.RMSprop(params, lr=lr, weight_decay=args.weight_decay)
    else:
        opt = optim.SGD(params, lr=lr, momentum=0.9 if args.optimizer == "momentum" else 0.0,
                        weight_decay=args.weight_decay)
    scheduler = optim.lr_scheduler.ExponentialLR(opt, gamma=args.lr_decay)
    callbacks = []
    if val_loader is not None:
        callbacks.append(EarlyStopping("val_accuracy", patience=args.patience))
    if args.checkpoint:
        callbacks.append(Checkpoint(args.checkpoint, resume=args.resume))

    n_params = sum(p.size for p in params)
    print(f"{type(model).__name__}: {n_params:,} parameters; data: {args.data} ({len(train)} training, "
          f"{len(test)} test images); {args.optimizer} lr={lr:g} decay={args.lr_decay:g}; "
          f"{dk.get_num_threads()} threads; device {args.device}")
    start = time.perf_counter()
    history = fit(model, F.cross_entropy, opt, train_loader, val_loader, epochs=args.epochs,
                  callbacks=callbacks, scheduler=scheduler, device=args.device, progress=not args.quiet)
    train_time = time.perf_counter() - start
    result = evaluate(model, test_loader, F.cross_entropy, device=args.device)
    print(f"trained {len(history)} epochs in {train_time:.1f} s; "
          f"test accuracy {100 * result['accuracy']:.2f}% (loss {result['loss']:.4f}, {len(test)} images)")
    if args.plot:
        print(f"learning curves: {history.plot(args.plot)}")
    return 0
