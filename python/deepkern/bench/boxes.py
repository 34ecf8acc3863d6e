"""Box IoU and NMS benchmark cases: box_iou 2000 x 2000, NMS over 5,000 and 20,000 random boxes
and batched NMS over 20,000 boxes in 80 classes, all at IoU 0.5. The "torch" column is
torchvision.ops when torchvision imports (PyTorch itself has no NMS). Outputs are allocated on
every call by every implementation. Random boxes: corners uniform in a 1000 x 1000 canvas,
sides uniform in [4, 64) pixels, scores uniform. The NumPy reference NMS is a Python loop
(~3 s at 5,000 boxes, ~30 s at 20,000): it is timed at 5,000 only."""
from __future__ import annotations

import numpy as np

from . import Case


def _boxes(ctx, n, dtype):
    xy = ctx.rng.random((n, 2)) * 1000
    wh = 4 + ctx.rng.random((n, 2)) * 60
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(dtype)
    return ctx.xp.asarray(boxes), ctx.xp.asarray(ctx.rng.random(n).astype(dtype))


def _torchvision(ctx):
    if ctx.torch is None:
        return None
    try:
        import torchvision.ops
    except Exception:  # not installed, or built against another torch
        return None
    return torchvision.ops


def _box_iou(n, dtype="float32"):
    def setup(ctx):
        from .. import ops, reference
        a, _ = _boxes(ctx, n, dtype)
        fns = {"deepkern": lambda: ops.box_iou(a, a)}
        if ctx.device == "cpu":
            fns["reference"] = lambda: reference.box_iou(a, a)
        tv = _torchvision(ctx)
        if tv is not None:
            ta = ctx.tensor(a)
            fns["torch"] = lambda: tv.box_iou(ta, ta)
        return fns

    itemsize = 4 if dtype == "float32" else 8
    return Case("boxes", "box_iou", f"{n}x{n}", setup, bytes=float(n * n * itemsize), dtype=dtype)


def _nms(n, classes=None, dtype="float32", with_reference=False):
    def setup(ctx):
        from .. import ops, reference
        boxes, scores = _boxes(ctx, n, dtype)
        fns = {}
        if classes is None:
            fns["deepkern"] = lambda: ops.nms(boxes, scores, 0.5)
            if with_reference and ctx.device == "cpu":
                fns["reference"] = lambda: reference.nms(boxes, scores, 0.5)
        else:
            cls = ctx.xp.asarray(ctx.rng.integers(0, classes, n))
            fns["deepkern"] = lambda: ops.batched_nms(boxes, scores, cls, 0.5)
        tv = _torchvision(ctx)
        if tv is not None:
            tb, ts = ctx.tensor(boxes), ctx.tensor(scores)
            if classes is None:
                fns["torch"] = lambda: tv.nms(tb, ts, 0.5)
            else:
                tc = ctx.tensor(cls)
                fns["torch"] = lambda: tv.batched_nms(tb, ts, tc, 0.5)
        return fns

    op, shape = ("nms", f"{n} boxes") if classes is None else ("batched_nms", f"{n} boxes,{classes} classes")
    return Case("boxes", op, shape, setup, dtype=dtype)


def cases():
    return [_box_iou(2000), _nms(5000, with_reference=True), _nms(20000), _nms(20000, classes=80)]
