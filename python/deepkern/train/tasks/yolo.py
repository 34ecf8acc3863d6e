"""``deepkern train yolo``: the course's YOLO detector on synthetic MNIST-digit canvases.

Builds seeded training and held-out canvases (deepkern.data.SyntheticDigitDetection: held-out
canvases use MNIST's *test* digits), picks the anchors by k-means (1 - IoU) on the training
boxes, trains deepkern.models.YOLO with Adam (cosine-decayed learning rate) and reports
mAP@0.5 (VOC all-point) on the held-out canvases, then saves a checkpoint that
``deepkern detect IMAGE --checkpoint PATH --out OUT.png`` reads.

mAP is measured the usual way, on detections down to score 0.01 (a ranking metric needs the
low-score tail); ``deepkern detect`` draws only boxes of score >= 0.6 by default.
"""
from __future__ import annotations

import math
import time

import numpy as np

HELP = "YOLO object detection on synthetic MNIST-digit canvases; reports mAP@0.5"


def add_arguments(p) -> None:
    p.add_argument("--train-images", type=int, default=4000, help="training canvases (default 4000)")
    p.add_argument("--test-images", type=int, default=500, help="held-out canvases (default 500)")
    p.add_argument("--image-size", type=int, default=64, help="canvas side; the grid is image-size/8 (default 64)")
    p.add_argument("--anchors", type=int, default=3, help="anchor boxes per cell, by k-means (default 3)")
    p.add_argument("--width", type=int, default=16, help="channels of the first conv block (default 16)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's initial learning rate (cosine decay to 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mnist-root", default=None,
                   help="directory with MNIST's IDX files (default: the MNIST subset shipped with deepkern)")
    p.add_argument("--checkpoint", default="yolo_digits.npz", help="where to save the model (default %(default)s)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def build(args):
    """(train_set, test_set, model) for the arguments."""
    import deepkern as dk
    from deepkern.data import SyntheticDigitDetection
    from deepkern.models.yolo import YOLO, kmeans_anchors

    dk.manual_seed(args.seed)
    common = dict(image_size=args.image_size, digit_size=(args.image_size * 7 // 32, args.image_size * 13 // 32),
                  root=args.mnist_root)
    train = SyntheticDigitDetection(args.train_images, train=True, seed=args.seed, **common)
    test = SyntheticDigitDetection(args.test_images, train=False, seed=args.seed + 1, **common)
    wh = np.concatenate([t["boxes"][:, 2:] - t["boxes"][:, :2] for t in train.targets])
    anchors = kmeans_anchors(wh, args.anchors, seed=args.seed)
    model = YOLO(train.num_classes, anchors, image_size=args.image_size, width=args.width)
    return train, test, model


def train_model(model, train_set, args):
    """Train in place; returns the mean loss of each epoch."""
    from tqdm.auto import tqdm

    import deepkern as dk
    from deepkern.data import DataLoader

    model.to(args.device)
    model.train()
    opt = dk.optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    steps, step, losses = args.epochs * len(loader), 0, []
    for epoch in range(args.epochs):
        total, seen = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{args.epochs}", unit="batch", disable=args.no_progress,
                   dynamic_ncols=True)
        for x, targets in bar:
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / steps))
            x = dk.Tensor(x).to(args.device)
            loss = model.loss(model(x), targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            total, seen = total + loss.item() * len(targets), seen + len(targets)
            bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
        bar.close()
        losses.append(total / seen)
    return losses


def evaluate(model, test_set, batch_size=100, score_threshold=0.01):
    """(mAP@0.5, per-class AP) of ``model`` on ``test_set``."""
    from deepkern.data import DataLoader
    from deepkern.metrics import mean_average_precision

    dets, gts = [], []
    for x, targets in DataLoader(test_set, batch_size=batch_size):
        dets += model.detect(x, score_threshold=score_threshold)
        gts += targets
    dets = [{k: (v.get() if hasattr(v, "get") and not isinstance(v, np.ndarray) else v) for k, v in d.items()}
            for d in dets]
    return mean_average_precision(dets, gts, test_set.num_classes)


def run(args) -> int:
    from deepkern.models.yolo import save_yolo

    t0 = time.perf_counter()
    train_set, test_set, model = build(args)
    print(f"data: {len(train_set)} training / {len(test_set)} held-out canvases of "
          f"{args.image_size}x{args.image_size} ({time.perf_counter() - t0:.1f} s); grid "
          f"{model.grid_size}x{model.grid_size}; anchors (w, h) = {np.round(model.anchors.astype(np.float64), 1).tolist()}")
    t1 = time.perf_counter()
    losses = train_model(model, train_set, args)
    t2 = time.perf_counter()
    m, ap = evaluate(model, test_set)
    print(f"training: {args.epochs} epochs in {t2 - t1:.0f} s, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"held-out mAP@0.5 = {m:.4f}  (per class: " + ", ".join(f"{c}: {v:.3f}" for c, v in ap.items()) + ")")
    save_yolo(model, args.checkpoint, class_names=train_set.classes)
    print(f"checkpoint: {args.checkpoint}  (try: deepkern detect IMAGE --checkpoint {args.checkpoint} --out out.png)")
    return 0
