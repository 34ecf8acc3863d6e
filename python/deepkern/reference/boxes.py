"""Pure-NumPy box IoU and NMS: the ground truth for deepkern.ops.boxes.

NMS here is the textbook loop (torchvision's reference): visit boxes in decreasing score
order, keep a box unless a box kept before it overlaps it with IoU > threshold.
"""
import numpy as np


def _area(b):
    return np.maximum(b[..., 2] - b[..., 0], 0) * np.maximum(b[..., 3] - b[..., 1], 0)


def box_iou(a, b):
    """a (N, 4), b (M, 4) -> (N, M) IoU; zero union -> 0; a NaN coordinate -> NaN (torchvision)."""
    a, b = a[:, None, :], b[None, :, :]
    w = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0)
    h = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0)
    inter = w * h
    union = _area(a) + _area(b) - inter
    out = np.zeros(inter.shape, dtype=inter.dtype)
    np.divide(inter, union, out=out, where=union > 0)
    out[np.isnan(a).any(axis=-1) | np.isnan(b).any(axis=-1)] = np.nan
    return out


def nms(boxes, scores, iou_threshold, score_threshold=None):
    """(K,) int64 indices of the kept boxes, decreasing score, ties by lower index."""
    dtype = boxes.dtype.type
    order = np.argsort(-scores, kind="stable")
    if score_threshold is not None:
        order = order[scores[order] >= dtype(score_threshold)]
    kept = []
    for i in order:
        if not kept or not np.any(box_iou(boxes[i:i + 1], boxes[kept])[0] > dtype(iou_threshold)):
            kept.append(i)
    return np.array(kept, dtype=np.int64)


def batched_nms(boxes, scores, classes, iou_threshold, score_threshold=None):
    """NMS on each class alone, merged in decreasing score order (ties by lower index)."""
    kept = [np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], iou_threshold,
                                              score_threshold)]
            for c in np.unique(classes)]
    kept = np.concatenate(kept + [np.zeros(0, np.int64)])
    return kept[np.lexsort((kept, -scores[kept]))].astype(np.int64)
