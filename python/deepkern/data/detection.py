"""Object-detection data: a seeded synthetic set built from real MNIST digits (Pascal VOC XML
annotations and the raccoon photos are read by deepkern.data.voc).

Boxes are (x1, y1, x2, y2) float32 pixel coordinates (DESIGN §3); a target is a dict
``{"boxes": (K, 4) float32, "labels": (K,) int64}``, torchvision's detection convention.

SyntheticDigitDetection: each grayscale canvas (default 64 x 64) holds 1..max_digits MNIST
digits, each cropped to its ink, rescaled to a random height in ``digit_size`` (aspect kept)
and pasted at a random place (overlaps allowed up to ``max_overlap`` IoU), composited by
maximum. A digit's box is the tight bounding box of its nonzero pixels as pasted, its label
the MNIST class (10 classes). Clutter makes the task less trivial: Gaussian pixel noise and
up to two unlabeled fragments (small crops of other digits). Training canvases use MNIST's
training digits, test canvases its test digits, so held-out images contain unseen digits.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from .dataset import Dataset, _check_index

__all__ = ["SyntheticDigitDetection"]


def _resize(img, h, w):
    """Bilinear resize of a 2-D float array to (h, w) (pixel centers aligned, edges clamped)."""
    H, W = img.shape

    def axis(n_out, n_in):
        c = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        lo = np.clip(np.floor(c).astype(np.int64), 0, n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, np.clip(c - lo, 0.0, 1.0)

    y0, y1, wy = axis(h, H)
    x0, x1, wx = axis(w, W)
    top = img[y0][:, x0] * (1 - wx) + img[y0][:, x1] * wx
    bottom = img[y1][:, x0] * (1 - wx) + img[y1][:, x1] * wx
    return top * (1 - wy[:, None]) + bottom * wy[:, None]


def _ink_box(patch):
    """Tight (r0, c0, r1, c1) bounds (exclusive ends) of the nonzero pixels of a 2-D array."""
    rows, cols = np.flatnonzero(patch.any(axis=1)), np.flatnonzero(patch.any(axis=0))
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1


def _mnist(train, root):
    from .mnist import MNIST, MNISTSubset

    ds = MNIST(root, train=train) if root is not None else MNISTSubset(train=train)
    return ds.data, ds.targets


class SyntheticDigitDetection(Dataset):
    """Seeded synthetic detection canvases made of real MNIST digits (see the module docstring).

    Args:
        num_images: number of canvases.
        image_size: canvas side in pixels.
        max_digits: each canvas holds 1..max_digits digits.
        digit_size: (min, max) height in pixels of a pasted digit's ink.
        max_overlap: largest IoU allowed between two digits' boxes on one canvas.
        clutter: add pixel noise and unlabeled digit fragments.
        train: draw digits from MNIST's training split (else its test split).
        seed: everything (digits, sizes, places, clutter) follows from it.
        root: a directory with MNIST's IDX files (e.g. ``../shared/data/mnist``); default: the
            MNIST subset shipped with deepkern (``deepkern.data.MNISTSubset``).

    ``images`` is (N, 1, H, W) uint8; a sample is ``(image float32 (1, H, W) in [0, 1],
    {"boxes": (K, 4) float32, "labels": (K,) int64})``.
    """

    num_classes = 10
    classes = tuple(str(d) for d in range(10))

    def __init__(self, num_images=1000, image_size=64, max_digits=3, digit_size=(14, 26),
                 max_overlap=0.3, clutter=True, train=True, seed=0, root=None):
        if not 4 <= digit_size[0] <= digit_size[1] <= image_size:
            raise ValueError(f"SyntheticDigitDetection: digit_size {digit_size} must be 4 <= min <= max "
                             f"and fit the canvas of {image_size} pixels")
        digits, labels = _mnist(train, root)
        rng = np.random.default_rng(seed)
        self.image_size = int(image_size)
        self.images = np.zeros((num_images, 1, image_size, image_size), np.uint8)
        self.targets = []
        for n in range(num_images):
            canvas = np.zeros((image_size, image_size), np.float64)
            boxes, cls = [], []
            for _ in range(int(rng.integers(1, max_digits + 1))):
                i = int(rng.integers(len(digits)))
                placed = self._paste(canvas, digits[i], rng, digit_size, boxes, max_overlap)
                if placed is not None:
                    boxes.append(placed)
                    cls.append(int(labels[i]))
            if clutter:
                self._clutter(canvas, digits, rng, digit_size)
            self.images[n, 0] = np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8)
            self.targets.append({"boxes": np.array(boxes, np.float32).reshape(-1, 4),
                                 "labels": np.array(cls, np.int64)})

    @staticmethod
    def _paste(canvas, digit, rng, digit_size, boxes, max_overlap, tries=20):
        ink = digit.astype(np.float64) / 255
        r0, c0, r1, c1 = _ink_box(ink)
        ink = ink[r0:r1, c0:c1]
        h = int(rng.integers(digit_size[0], digit_size[1] + 1))
        w = min(canvas.shape[1], max(2, int(round(h * ink.shape[1] / ink.shape[0]))))
        patch = _resize(ink, h, w)
        patch[patch < 0.02] = 0  # faint resampling edges are not ink
        pr0, pc0, pr1, pc1 = _ink_box(patch)
        size = canvas.shape[0]
        for _ in range(tries):
            y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
            box = (x + pc0, y + pr0, x + pc1, y + pr1)
            if not boxes or ops.box_iou(np.array([box], np.float64), np.array(boxes, np.float64)).max() <= max_overlap:
                np.maximum(canvas[y:y + h, x:x + w], patch, out=canvas[y:y + h, x:x + w])
                return box
        return None

    @staticmethod
    def _clutter(canvas, digits, rng, digit_size):
        size = canvas.shape[0]
        for _ in range(int(rng.integers(0, 3))):  # fragments: a corner of some digit, unlabeled
            ink = digits[int(rng.integers(len(digits)))].astype(np.float64) / 255
            side = int(rng.integers(digit_size[0] // 2, digit_size[1] // 2 + 1))
            frag = _resize(ink[:14, :14] if rng.random() < 0.5 else ink[14:, 14:], side, side)
            y, x = int(rng.integers(0, size - side + 1)), int(rng.integers(0, size - side + 1))
            np.maximum(canvas[y:y + side, x:x + side], frag * 0.8, out=canvas[y:y + side, x:x + side])
        canvas += rng.normal(0.0, 0.04, canvas.shape)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        i = _check_index(type(self).__name__, index, len(self))
        return self.images[i].astype(np.float32) / np.float32(255), self.targets[i]

    def get_batch(self, indices):
        """(images (B, 1, H, W) float32 in [0, 1], list of B target dicts): what
        ``deepkern.data.DataLoader`` yields for this dataset."""
        indices = np.asarray(indices, dtype=np.int64)
        return (self.images[indices].astype(np.float32) / np.float32(255),
                [self.targets[i] for i in indices])

