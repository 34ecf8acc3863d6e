"""YOLO (the course's "You Only Look Once" detector): a convolutional backbone, an S x S grid,
K anchor boxes per cell, target encoding, the YOLO loss and decoding with per-class NMS.

Network. Blocks of Conv3x3 (no bias) -> BatchNorm2d -> LeakyReLU(0.1) -> MaxPool2d(2), one
more Conv-BN-LeakyReLU, then a 1x1 convolution to K * (5 + C) channels: no fully connected
layer, so the whole detector is the course's "sliding window as a convolution" — every output
position is one grid cell. An (image_size x image_size) input with ``num_pools`` poolings gives
an S x S grid, S = image_size / 2**num_pools (64 px and 3 pools: 8 x 8 cells of 8 px).

Output. (B, K * (5 + C), S, S); channels k*(5+C) .. (k+1)*(5+C)-1 belong to anchor k and are
[t_o, t_x, t_y, t_w, t_h, z_1 .. z_C]. For the cell in row i, column j (stride s pixels) and
anchor (a_w, a_h) in pixels:
    Pc = sigmoid(t_o)                               objectness
    x  = (j + sigmoid(t_x)) * s,  y = (i + sigmoid(t_y)) * s     box center, inside the cell
    w  = a_w * exp(t_w),          h = a_h * exp(t_h)             box size
    p  = softmax(z)                                 class probabilities c1..cC
t_w and t_h are clipped to [-8, 8] before exp (no overflow on a fresh network).

Targets. Each ground-truth box goes to the cell containing its center and to the anchor of
best shape IoU (IoU of the two boxes centered together); when two objects claim the same
(cell, anchor) the later one wins. Anchors come from k-means on the training boxes' (w, h)
with the distance 1 - IoU (:func:`kmeans_anchors`, as in YOLOv2).

Loss (YOLOv1's sum-squared error, per image, averaged over the batch):
    λcoord Σ_obj [(σ(t_x) - x̂)² + (σ(t_y) - ŷ)² + (√(w/W) - √(ŵ/W))² + (√(h/W) - √(ĥ/W))²]
  + Σ_obj (Pc - 1)²  +  λnoobj Σ_noobj Pc²  +  Σ_obj Σ_c (p_c - 1[c = ĉ])²
with λcoord = 5, λnoobj = 0.5 and W the image size: square roots so an error of a pixel
matters more on a small box. "obj" are the assigned (cell, anchor) pairs, "noobj" all others.

Decoding. score = Pc * max_c p_c, label = argmax_c p_c; boxes with score < 0.6 are discarded,
then NMS on each class alone at IoU 0.5 (both thresholds are arguments).
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn, ops
from .._backend import array_module
from ..autograd import Function, no_grad

__all__ = ["YOLO", "kmeans_anchors", "wh_iou", "encode_targets", "yolo_loss", "decode", "yolo_state",
           "yolo_from_state", "save_yolo", "load_yolo", "detect_image", "draw_detections"]

_T_CLIP = 8.0


def _host(a):
    """A NumPy copy of a NumPy or CuPy array (anchors live with the model's buffers)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def wh_iou(wh, anchors):
    """IoU of boxes of sizes wh (N, 2) with anchors (K, 2), all centered together: (N, K)."""
    wh, anchors = np.asarray(wh, np.float64), np.asarray(anchors, np.float64)
    inter = np.minimum(wh[:, None, 0], anchors[None, :, 0]) * np.minimum(wh[:, None, 1], anchors[None, :, 1])
    union = (wh[:, 0] * wh[:, 1])[:, None] + (anchors[:, 0] * anchors[:, 1])[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def kmeans_anchors(wh, k, seed=0, max_iter=300):
    """K anchor sizes from box sizes wh (N, 2) by k-means with distance 1 - IoU (YOLOv2).

    Centroids start at k distinct boxes drawn with ``seed``; each box joins the centroid of
    highest IoU, each centroid moves to its members' mean (w, h); repeat until no box changes
    cluster. Returns (k, 2) float32 sorted by area.
    """
    wh = np.asarray(wh, np.float64).reshape(-1, 2)
    distinct = np.unique(wh, axis=0)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"kmeans_anchors: k must be a positive int, got {k!r}")
    if len(distinct) < k:
        raise ValueError(f"kmeans_anchors: k={k} anchors need at least {k} distinct box sizes, got {len(distinct)}")
    if np.any(wh <= 0):
        raise ValueError("kmeans_anchors: box widths and heights must be > 0")
    rng = np.random.default_rng(seed)
    centroids = distinct[rng.choice(len(distinct), size=k, replace=False)]
    assign = None
    for _ in range(max_iter):
        new = np.argmax(wh_iou(wh, centroids), axis=1)
        if assign is not None and np.array_equal(new, assign):
            break
        assign = new
        for c in range(k):
            if np.any(assign == c):  # an empty cluster keeps its centroid
                centroids[c] = wh[assign == c].mean(axis=0)
    return centroids[np.argsort(centroids[:, 0] * centroids[:, 1])].astype(np.float32)


def encode_targets(targets, anchors, grid_size, image_size):
    """Ground truth -> dense training targets.

    targets: per image a dict with ``boxes`` (G, 4) (x1, y1, x2, y2) pixels and ``labels`` (G,).
    Returns ``(obj, box, cls)``: obj (B, K, S, S) bool marks the assigned (anchor, cell) pairs;
    box (B, K, 4, S, S) float64 holds [x̂, ŷ, ŵ, ĥ] there — the center's offset in its cell
    in [0, 1) and the size in pixels; cls (B, K, S, S) int64 the class (0 elsewhere).
    """
    anchors = _host(anchors).astype(np.float64)
    K, S = len(anchors), int(grid_size)
    stride = image_size / S
    B = len(targets)
    obj = np.zeros((B, K, S, S), bool)
    box = np.zeros((B, K, 4, S, S))
    cls = np.zeros((B, K, S, S), np.int64)
    for b, t in enumerate(targets):
        boxes = np.asarray(t["boxes"], np.float64).reshape(-1, 4)
        if not len(boxes):
            continue
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2 / stride, (boxes[:, 1] + boxes[:, 3]) / 2 / stride
        col = np.clip(np.floor(cx).astype(np.int64), 0, S - 1)
        row = np.clip(np.floor(cy).astype(np.int64), 0, S - 1)
        best = np.argmax(wh_iou(np.stack([w, h], 1), anchors), axis=1)
        for g in range(len(boxes)):
            a, i, j = best[g], row[g], col[g]
            obj[b, a, i, j] = True
            box[b, a, :, i, j] = (cx[g] - j, cy[g] - i, w[g], h[g])
            cls[b, a, i, j] = t["labels"][g]
    return obj, box, cls


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softmax(xp, z, axis):
    e = xp.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class _YoloLoss(Function):
    """The YOLO loss of raw predictions (B, K*(5+C), S, S) -> a scalar; see the module
    docstring. Forward and backward are written out on arrays (NumPy or CuPy)."""

    def forward(self, pred, obj, box, cls, anchors, image_size, lambda_coord, lambda_noobj):
        xp = array_module(pred)
        B, ch, S, _ = pred.shape
        K = len(anchors)
        C = ch // K - 5
        P = pred.reshape(B, K, 5 + C, S, S)
        dt = pred.dtype
        obj_m = xp.asarray(obj, dtype=dt)
        noobj_m = 1 - obj_m
        tgt = xp.asarray(box, dtype=dt)
        sqrt_a = xp.asarray(np.sqrt(np.asarray(anchors, np.float64) / image_size), dtype=dt)  # (K, 2)
        pc = _sigmoid(xp, P[:, :, 0])
        sxy = _sigmoid(xp, P[:, :, 1:3])
        twh = xp.clip(P[:, :, 3:5], -_T_CLIP, _T_CLIP)
        sq = sqrt_a[None, :, :, None, None] * xp.exp(twh / 2)         # √(w/W), √(h/W)
        sq_t = xp.sqrt(tgt[:, :, 2:4] / image_size)
        p = _softmax(xp, P[:, :, 5:], axis=2)
        onehot = (xp.arange(C)[None, None, :, None, None] == xp.asarray(cls)[:, :, None]).astype(dt)
        e_xy, e_wh, e_p = sxy - tgt[:, :, 0:2], sq - sq_t, p - onehot
        m = obj_m[:, :, None]
        loss = (lambda_coord * (xp.sum(m * e_xy ** 2) + xp.sum(m * e_wh ** 2))
                + xp.sum(obj_m * (pc - 1) ** 2) + lambda_noobj * xp.sum(noobj_m * pc ** 2)
                + xp.sum(m * e_p ** 2)) / B
        inside = (xp.abs(P[:, :, 3:5]) < _T_CLIP).astype(dt)
        self.save_for_backward(pc, sxy, sq, p, e_xy, e_wh, e_p, obj_m, inside)
        self.consts = (B, K, C, S, lambda_coord, lambda_noobj)
        return xp.asarray(loss, dtype=dt)

    def backward(self, grad):
        pc, sxy, sq, p, e_xy, e_wh, e_p, obj_m, inside = self.saved
        B, K, C, S, lc, ln = self.consts
        xp = array_module(pc)
        scale = grad / B
        m = obj_m[:, :, None]
        g = xp.empty((B, K, 5 + C, S, S), dtype=pc.dtype)
        g[:, :, 0] = (obj_m * 2 * (pc - 1) + (1 - obj_m) * 2 * ln * pc) * pc * (1 - pc)
        g[:, :, 1:3] = m * lc * 2 * e_xy * sxy * (1 - sxy)
        g[:, :, 3:5] = m * lc * 2 * e_wh * sq / 2 * inside
        gp = m * 2 * e_p
        g[:, :, 5:] = p * (gp - xp.sum(gp * p, axis=2, keepdims=True))
        return (g * scale).reshape(B, K * (5 + C), S, S), None, None, None, None, None, None, None


def yolo_loss(pred, targets, anchors, image_size, lambda_coord=5.0, lambda_noobj=0.5):
    """The YOLO loss (module docstring) of raw predictions ``pred`` — a Tensor (B, K*(5+C), S, S)
    — against ``targets`` (per image ``{"boxes", "labels"}``). Returns a scalar Tensor."""
    S = pred.shape[-1]
    obj, box, cls = encode_targets(targets, _host(anchors), S, image_size)
    xp = array_module(pred.data)
    return _YoloLoss.apply(pred, xp.asarray(obj), xp.asarray(box), xp.asarray(cls),
                           _host(anchors).astype(np.float64), float(image_size), float(lambda_coord),
                           float(lambda_noobj))


def decode(pred, anchors, image_size, score_threshold=0.6, iou_threshold=0.5):
    """Raw predictions (B, K*(5+C), S, S) array -> per image ``{"boxes" (D, 4), "scores" (D,),
    "labels" (D,)}``: boxes of score Pc * max p >= score_threshold, clipped to the image,
    after NMS on each class alone at iou_threshold; in decreasing score order."""
    xp = array_module(pred)
    B, ch, S, _ = pred.shape
    K = len(anchors)
    C = ch // K - 5
    stride = image_size / S
    P = pred.reshape(B, K, 5 + C, S, S)
    a = xp.asarray(_host(anchors), dtype=pred.dtype)
    pc = _sigmoid(xp, P[:, :, 0])
    cx = (xp.arange(S, dtype=pred.dtype)[None, None, None, :] + _sigmoid(xp, P[:, :, 1])) * stride
    cy = (xp.arange(S, dtype=pred.dtype)[None, None, :, None] + _sigmoid(xp, P[:, :, 2])) * stride
    w = a[None, :, 0, None, None] * xp.exp(xp.clip(P[:, :, 3], -_T_CLIP, _T_CLIP))
    h = a[None, :, 1, None, None] * xp.exp(xp.clip(P[:, :, 4], -_T_CLIP, _T_CLIP))
    p = _softmax(xp, P[:, :, 5:], axis=2)
    scores = pc * p.max(axis=2)
    labels = p.argmax(axis=2)
    boxes = xp.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
    boxes = xp.clip(boxes, 0, image_size)
    out = []
    for b in range(B):
        bx = xp.ascontiguousarray(boxes[b].reshape(-1, 4))
        sc = xp.ascontiguousarray(scores[b].reshape(-1))
        lb = xp.ascontiguousarray(labels[b].reshape(-1))
        keep = ops.batched_nms(bx, sc, lb, iou_threshold, score_threshold=score_threshold)
        out.append({"boxes": bx[keep], "scores": sc[keep], "labels": lb[keep].astype(np.int64)})
    return out


class YOLO(nn.Module):
    """The YOLO detector of the module docstring.

    Args:
        num_classes: C.
        anchors: (K, 2) anchor (w, h) in pixels, e.g. from :func:`kmeans_anchors`; stored as a
            buffer so checkpoints carry them.
        image_size: input side in pixels (a multiple of 2**num_pools).
        in_channels: 1 for grayscale.
        width: channels of the first block (doubled by each pooling block, at most 8x).
        num_pools: pooling blocks; the grid is S = image_size / 2**num_pools.

    ``forward(x)``: x (B, in_channels, image_size, image_size) -> raw (B, K*(5+C), S, S).
    """

    def __init__(self, num_classes, anchors, image_size=64, in_channels=1, width=16, num_pools=3):
        super().__init__()
        anchors = np.asarray(anchors, np.float32)
        if anchors.ndim != 2 or anchors.shape[1] != 2 or not np.all(anchors > 0):
            raise ValueError(f"YOLO: anchors must be (K, 2) positive (w, h), got {anchors.tolist()}")
        if image_size % (2 ** num_pools):
            raise ValueError(f"YOLO: image_size {image_size} must be a multiple of 2**num_pools = {2 ** num_pools}")
        self.num_classes, self.image_size, self.num_pools = int(num_classes), int(image_size), int(num_pools)
        self.in_channels, self.width = int(in_channels), int(width)
        self.grid_size = image_size // 2 ** num_pools
        self.register_buffer("anchors", anchors)
        layers, c_in = [], in_channels
        for k in range(num_pools):
            c_out = width * 2 ** min(k, 3)
            layers += self._block(c_in, c_out) + [nn.MaxPool2d(2)]
            c_in = c_out
        layers += self._block(c_in, c_in) + [nn.Conv2d(c_in, len(anchors) * (5 + num_classes), 1)]
        self.net = nn.Sequential(*layers)

    @staticmethod
    def _block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.1)]

    def forward(self, x):
        return self.net(x)

    def loss(self, pred, targets, lambda_coord=5.0, lambda_noobj=0.5):
        """:func:`yolo_loss` with this model's anchors and image size."""
        return yolo_loss(pred, targets, self.anchors, self.image_size, lambda_coord, lambda_noobj)

    def detect(self, images, score_threshold=0.6, iou_threshold=0.5):
        """Detections for images (B, C, H, W) (eval mode, no gradient): see :func:`decode`."""
        from ..autograd import Tensor

        was_training = self.training
        self.eval()
        try:
            with no_grad():
                pred = self.forward(Tensor(images)).data
        finally:
            self.train(was_training)
        return decode(pred, self.anchors, self.image_size, score_threshold, iou_threshold)


# ---- checkpoints and drawing ----------------------------------------------------------------

def yolo_state(model, class_names=None) -> dict:
    """What rebuilds a YOLO model: ``{"format": "deepkern-yolo", "config", "model"}`` (its
    constructor arguments with the class names, and its state_dict)."""
    config = {"num_classes": model.num_classes, "image_size": model.image_size, "in_channels": model.in_channels,
              "width": model.width, "num_pools": model.num_pools,
              "class_names": list(class_names) if class_names is not None else [str(c) for c in range(model.num_classes)]}
    return {"format": "deepkern-yolo", "config": config, "model": model.state_dict()}


def yolo_from_state(state):
    """``(model, class_names)`` from :func:`yolo_state`'s dict, the model in eval mode."""
    if not isinstance(state, dict) or state.get("format") != "deepkern-yolo":
        raise ValueError("yolo_from_state: not a YOLO state written by yolo_state / save_yolo")
    cfg = dict(state["config"])
    names = [str(n) for n in cfg.pop("class_names")]
    model = YOLO(anchors=state["model"]["anchors"], **cfg)
    model.load_state_dict(state["model"])
    model.eval()
    return model, names


def save_yolo(model, path, class_names=None):
    """Save a YOLO model (its constructor arguments and state_dict) with ``dk.save``."""
    from ..serialization import save
    save(yolo_state(model, class_names), path)


def load_yolo(path):
    """Load a model saved by :func:`save_yolo`: returns ``(model, class_names)`` in eval mode."""
    from ..serialization import load

    ckpt = load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != "deepkern-yolo":
        raise ValueError(f"load_yolo: {path} is not a YOLO checkpoint written by save_yolo")
    return yolo_from_state(ckpt)


def draw_detections(image, detections, class_names, path, min_size=512):
    """Draw boxes with "class score" labels on ``image`` ((H, W) or (H, W, 3) uint8) and save it
    as PNG to ``path``. ``detections``: ``{"boxes", "scores", "labels"}`` in the image's pixels.
    An image whose longer side is below ``min_size`` is first enlarged by a whole factor (pixels
    kept sharp), so the labels stay readable on small inputs. Returns the drawn size (W, H).
    Needs Pillow."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:
        raise ImportError("drawing detections needs Pillow: pip install pillow (or deepkern[images])") from exc
    img = Image.fromarray(np.asarray(image)).convert("RGB")
    factor = max(1, math.ceil(min_size / max(img.size))) if min_size else 1
    if factor > 1:
        img = img.resize((img.width * factor, img.height * factor), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    size = max(11, max(img.size) // 40)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    colors = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
              (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 190)]
    for box, score, label in zip(_host(detections["boxes"]), _host(detections["scores"]),
                                 _host(detections["labels"])):
        color = colors[int(label) % len(colors)]
        x1, y1, x2, y2 = (float(v) * factor for v in box)
        draw.rectangle([x1, y1, x2, y2], outline=color, width=max(2, round(max(img.size) / 250)))
        text = f"{class_names[int(label)]} {float(score):.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tx, ty = x1, max(0.0, y1 - (bottom - top) - 4)
        draw.rectangle([tx, ty, tx + right - left + 4, ty + bottom - top + 4], fill=color)
        draw.text((tx + 2 - left, ty + 2 - top), text, fill=(0, 0, 0), font=font)
    img.save(path, format="PNG")
    return img.size


def detect_image(model, image, score_threshold=0.6, iou_threshold=0.5):
    """Run ``model`` on one picture of any size ((H, W) or (H, W, 3) uint8): converted to the
    model's channels, resized (bilinear) to its input size, detected, and the boxes scaled back
    to the picture's pixels. Needs Pillow for the resize."""
    from PIL import Image

    pic = Image.fromarray(np.asarray(image))
    pic = pic.convert("L" if model.in_channels == 1 else "RGB").resize((model.image_size, model.image_size),
                                                                       Image.BILINEAR)
    x = np.asarray(pic, np.float32) / np.float32(255)
    x = x[None, None] if x.ndim == 2 else x.transpose(2, 0, 1)[None]
    det = model.detect(x, score_threshold, iou_threshold)[0]
    h, w = np.asarray(image).shape[:2]
    scale = np.array([w, h, w, h], np.float64) / model.image_size
    return {"boxes": _host(det["boxes"]) * scale, "scores": _host(det["scores"]), "labels": _host(det["labels"])}
