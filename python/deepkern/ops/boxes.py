"""Box IoU and non-maximum suppression (array in, array out; not differentiable).

Boxes are (x1, y1, x2, y2) rows of an (N, 4) float32/float64 array, as in torchvision. Widths
and heights are clamped at 0, so a zero-area or inverted box has IoU 0 with every box and a zero
union gives 0, never NaN. ``nms`` and ``batched_nms`` follow ``torchvision.ops``: greedy, the
highest score first, a box is suppressed by a kept box when their IoU is *strictly* greater
than ``iou_threshold``; the result is int64 indices into the input, in decreasing score order,
score ties broken by the lower index first. Thresholds are compared in the boxes' dtype.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from .._backend import kernels


def _boxes(op, name, x):
    _checks.ndim(op, name, x, 2, "(N, 4)")
    if x.shape[1] != 4:
        raise ValueError(f"{op}: {name} must have shape (N, 4) (x1, y1, x2, y2), got {tuple(x.shape)}")


def box_iou(a, b, out=None):
    """Pairwise IoU: a (N, 4), b (M, 4) -> (N, M), ``out[i, j] = IoU(a[i], b[j])``."""
    op = "box_iou"
    xp, (a, b) = _checks.arrays(op, a=a, b=b)
    _boxes(op, "a", a)
    _boxes(op, "b", b)
    out = _checks.output(op, out, (a.shape[0], b.shape[0]), a.dtype, xp)
    kernels(xp).box_iou(a, b, out)
    return out


def _nms(op, boxes, scores, classes, iou_threshold, score_threshold):
    xp, (boxes, scores) = _checks.arrays(op, boxes=boxes, scores=scores)
    _boxes(op, "boxes", boxes)
    n = boxes.shape[0]
    if scores.shape != (n,):
        raise ValueError(f"{op}: scores must have shape ({n},) to match boxes {tuple(boxes.shape)}, "
                         f"got {tuple(scores.shape)}")
    if classes is not None:
        classes = _checks.index_array(op, "classes", classes, xp)
        if classes.shape != (n,):
            raise ValueError(f"{op}: classes must have shape ({n},) to match boxes {tuple(boxes.shape)}, "
                             f"got {tuple(classes.shape)}")
    iou_threshold = _checks.real(op, "iou_threshold", iou_threshold, 0.0, 1.0)
    score_threshold = (-np.inf if score_threshold is None
                       else _checks.real(op, "score_threshold", score_threshold))
    if n and bool(xp.isnan(scores).any()):
        raise ValueError(f"{op}: scores contain NaN (no order to visit the boxes in)")
    keep = xp.empty((n,), dtype=np.int64)
    k = kernels(xp)
    extra = () if classes is None else (classes,)
    if xp is np:
        count = getattr(k, op)(boxes, scores, *extra, keep, iou_threshold, score_threshold)
    else:
        count_dev = xp.empty((1,), dtype=np.int64)
        workspace = xp.empty((k.nms_workspace_size(boxes),), dtype=np.uint8)
        getattr(k, op)(boxes, scores, *extra, keep, count_dev, workspace, iou_threshold, score_threshold)
        count = int(count_dev[0])  # the result's length is a host value: one sync
    return keep[:count].copy()


def nms(boxes, scores, iou_threshold, score_threshold=None):
    """Greedy non-maximum suppression.

    boxes (N, 4), scores (N,) of the same float dtype. Boxes with ``score < score_threshold``
    (when given) are dropped first. Returns the int64 indices of the kept boxes, (K,), in
    decreasing score order (ties: lower index first).
    """
    return _nms("nms", boxes, scores, None, iou_threshold, score_threshold)


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold=None):
    """Non-maximum suppression on each class alone: boxes of different classes never suppress
    each other. classes is an (N,) integer array. Returns (K,) int64 indices in decreasing
    score order over all classes (ties: lower index first). Exact: the kernels group by class
    instead of torchvision's coordinate-offset trick."""
    return _nms("batched_nms", boxes, scores, classes, iou_threshold, score_threshold)
