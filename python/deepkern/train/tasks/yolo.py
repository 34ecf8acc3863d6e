"""``deepkern train yolo``: the course's YOLO detector on synthetic MNIST-digit canvases.

Builds seeded training and held-out canvases (deepkern.data.SyntheticDigitDetection: held-out
canvases use MNIST's *test* digits; ``--data-dir`` takes full MNIST's IDX files instead of the
subset shipped with deepkern), picks the anchors by k-means (1 - IoU) on the training boxes,
trains deepkern.models.YOLO with Adam (cosine-decayed learning rate) and reports mAP@0.5 (VOC
all-point) on the held-out canvases.

mAP is measured the usual way, on detections down to score 0.01 (a ranking metric needs the
low-score tail). Draw a trained model's boxes on any image with ``deepkern detect IMAGE
--checkpoint yolo.dk``, which keeps boxes of score >= 0.6 by default.
"""
from __future__ import annotations

import math

import numpy as np

from ...cli import positive_int
from ..task import Task, UsageError


def load_model(ckpt):
    """(YOLO model in eval mode, class names) of a yolo checkpoint."""
    from ...models.yolo import yolo_from_state
    return yolo_from_state(ckpt["state"]["yolo"])


class Yolo(Task):
    help = "YOLO object detection on synthetic MNIST-digit canvases; reports mAP@0.5"
    defaults = {"epochs": 10, "batch_size": 32, "lr": 3e-3}
    core_help = {"lr": "Adam's initial learning rate (cosine decay to 0)",
                 "data_dir": "directory with MNIST's IDX files (default: the MNIST subset shipped with deepkern)"}

    @classmethod
    def add_arguments(cls, p):
        p.add_argument("--train-images", type=positive_int, default=4000, help="training canvases")
        p.add_argument("--test-images", type=positive_int, default=500, help="held-out canvases")
        p.add_argument("--image-size", type=positive_int, default=64, help="canvas side, a multiple of 8; the grid is "
                                                                         "image-size/8")
        p.add_argument("--anchors", type=positive_int, default=3, help="anchor boxes per cell, by k-means")
        p.add_argument("--width", type=positive_int, default=16, help="channels of the first conv block")

    def check(self):
        if self.args.image_size % 8 or self.args.image_size < 16:
            raise UsageError("--image-size", f"expected a multiple of 8 of at least 16, got {self.args.image_size}")
        super().check()

    def setup(self):
        import deepkern as dk
        from deepkern.data import DataLoader, SyntheticDigitDetection
        from deepkern.models.yolo import YOLO, kmeans_anchors

        args = self.args
        common = dict(image_size=args.image_size, digit_size=(args.image_size * 7 // 32, args.image_size * 13 // 32),
                      root=args.data_dir)
        try:
            self.train_set = SyntheticDigitDetection(args.train_images, train=True, seed=args.seed, **common)
            self.test_set = SyntheticDigitDetection(args.test_images, train=False, seed=args.seed + 1, **common)
        except FileNotFoundError as e:
            raise UsageError("--data-dir", f"{e} (give MNIST's IDX files, or leave --data-dir out)") from None
        wh = np.concatenate([t["boxes"][:, 2:] - t["boxes"][:, :2] for t in self.train_set.targets])
        if len(wh) < args.anchors:
            raise UsageError("--anchors", f"{args.anchors} anchors need as many training boxes; there are {len(wh)}")
        anchors = kmeans_anchors(wh, args.anchors, seed=args.seed)
        self.model = YOLO(self.train_set.num_classes, anchors, image_size=args.image_size, width=args.width)
        self.model.to(self.device)
        self.optimizer = dk.optim.Adam(self.model.parameters(), lr=args.lr)
        self.loader = DataLoader(self.train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
        print(f"data: {len(self.train_set)} training / {len(self.test_set)} held-out canvases of "
              f"{args.image_size}x{args.image_size}; grid {self.model.grid_size}x{self.model.grid_size}; anchors "
              f"(w, h) = {np.round(self.model.anchors.astype(np.float64), 1).tolist()}")

    def train_epoch(self, epoch):
        import deepkern as dk

        args, model = self.args, self.model
        self.loader.set_epoch(epoch)
        steps = args.epochs * len(self.loader)
        step = epoch * len(self.loader)
        model.train()
        total, seen = 0.0, 0
        with self.progress(self.loader, total=len(self.loader)) as bar:
            for x, targets in bar:
                for group in self.optimizer.param_groups:
                    group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / steps))
                loss = model.loss(model(dk.Tensor(x).to(self.device)), targets)
                self.optimizer.zero_grad()
                loss.backward()
                self.optimizer.step()
                step += 1
                total, seen = total + loss.item() * len(targets), seen + len(targets)
                bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
        return {"loss": total / seen}

    def state_dict(self):
        from ...models.yolo import yolo_state
        return {"yolo": yolo_state(self.model, self.train_set.classes), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["yolo"]["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def finish(self):
        m, ap = evaluate(self.model, self.test_set)
        losses = self.history["loss"] if len(self.history) else [float("nan")]
        print(f"training: {len(self.history)} epochs, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
        print(f"held-out mAP@0.5 = {m:.4f}  (per class: " + ", ".join(f"{c}: {v:.3f}" for c, v in ap.items()) + ")")
        print(f"try: deepkern detect IMAGE --checkpoint {self.args.checkpoint}")


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
