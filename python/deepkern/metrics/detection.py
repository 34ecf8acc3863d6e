"""Detection metrics: average precision with Pascal VOC's all-point interpolation, and its mean
over classes (mAP@0.5 by default).

Matching (per class, Pascal VOC's rule): all detections of the class, over every image, are
visited in decreasing score order (ties: earlier image, then earlier detection first); each is
a true positive when its best-IoU ground-truth box of the same class in the same image has
IoU >= ``iou_threshold`` (the MATLAB devkit's ``>=``) and was not matched before, else a false
positive (a second detection of one object is a false positive). Ground truths flagged
``difficult`` count neither way: a detection matching one is ignored. Coordinates are
continuous (no VOC "+1" pixel in areas), as in COCO and torchvision.
"""
from __future__ import annotations

import numpy as np

from .. import ops

__all__ = ["average_precision", "mean_average_precision"]


def average_precision(recall, precision):
    """Area under the precision-recall curve with all-point interpolation (VOC 2010+):
    precision is first made monotonically non-increasing (p(r) = max over r' >= r), then
    summed over the recall steps. recall, precision: (K,) in detection order."""
    mrec = np.concatenate([[0.0], np.asarray(recall, np.float64), [1.0]])
    mpre = np.concatenate([[0.0], np.asarray(precision, np.float64), [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    """mAP over classes that have ground truth.

    Args:
        detections: per image, a dict ``{"boxes": (D, 4), "scores": (D,), "labels": (D,)}``.
        ground_truths: per image, a dict ``{"boxes": (G, 4), "labels": (G,)}``, optionally
            ``"difficult": (G,) bool``.
        num_classes: classes are 0..num_classes-1.
        iou_threshold: a match needs IoU >= this.

    Returns:
        ``(map, ap)``: the mean AP and a dict class -> AP for the classes with ground truth
        (classes with none are left out of the mean, as in VOC).
    """
    if len(detections) != len(ground_truths):
        raise ValueError(f"mean_average_precision: {len(detections)} images of detections but "
                         f"{len(ground_truths)} of ground truth")
    ap = {}
    for c in range(num_classes):
        gts, n_pos, dets = [], 0, []
        for img, (d, g) in enumerate(zip(detections, ground_truths)):
            sel = np.asarray(g["labels"]) == c
            boxes = np.asarray(g["boxes"], np.float64).reshape(-1, 4)[sel]
            difficult = np.asarray(g.get("difficult", np.zeros(sel.shape, bool)), bool)[sel]
            gts.append((boxes, difficult, np.zeros(len(boxes), bool)))
            n_pos += int(np.sum(~difficult))
            dsel = np.flatnonzero(np.asarray(d["labels"]) == c)
            scores = np.asarray(d["scores"], np.float64)[dsel]
            dboxes = np.asarray(d["boxes"], np.float64).reshape(-1, 4)[dsel]
            dets += [(-s, img, k, b) for k, (s, b) in enumerate(zip(scores, dboxes))]
        if n_pos == 0:
            continue
        dets.sort(key=lambda t: t[:3])
        tp, fp = [], []
        for _, img, _, box in dets:
            boxes, difficult, used = gts[img]
            if len(boxes):
                iou = ops.box_iou(box[None], boxes)[0]
                best = int(np.argmax(iou))
                if iou[best] >= iou_threshold:
                    if difficult[best]:
                        continue
                    if not used[best]:
                        used[best] = True
                        tp.append(1), fp.append(0)
                        continue
            tp.append(0), fp.append(1)
        tp, fp = np.cumsum(tp), np.cumsum(fp)
        recall = tp / n_pos
        precision = tp / np.maximum(tp + fp, 1)
        ap[c] = average_precision(recall, precision) if len(tp) else 0.0
    return (float(np.mean(list(ap.values()))) if ap else 0.0), ap
