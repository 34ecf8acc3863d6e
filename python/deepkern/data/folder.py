"""ImageFolder: images stored one directory per class (torchvision's layout)::

    root/cat/001.png
    root/cat/002.jpg
    root/dog/xyz.jpeg

Classes are the sub-directory names in sorted order (label = position). Images are decoded
with Pillow (an optional dependency: ``pip install 'deepkern[images]'``), converted to RGB (or
kept grayscale with ``mode='L'``) and returned as float32 (C, H, W) in [0, 1].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import Dataset, _check_index

__all__ = ["ImageFolder", "IMG_EXTENSIONS"]

IMG_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


def _pillow():
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("ImageFolder needs Pillow to decode images: pip install 'deepkern[images]' "
                          "(or pip install pillow)") from e
    return Image


class ImageFolder(Dataset):
    """A dataset of image files in ``root/<class>/<file>``.

    Attributes: ``classes`` (sorted names), ``class_to_idx``, ``samples`` (list of
    (path, label)), ``targets`` (int64 labels). A sample is ``(image, label)`` with image
    float32 (C, H, W) in [0, 1] after ``transform``. Images of different sizes need a
    ``transform`` that makes them equal (e.g. ``RandomCrop``) before batching.
    """

    def __init__(self, root, transform=None, target_transform=None, mode="RGB", extensions=IMG_EXTENSIONS):
        self._image = _pillow()
        if mode not in ("RGB", "L"):
            raise ValueError(f"ImageFolder: mode must be 'RGB' or 'L', got {mode!r}")
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a directory")
        self.mode = mode
        self.transform = transform
        self.target_transform = target_transform
        exts = tuple(e.lower() for e in extensions)
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}
        self.samples = [(p, self.class_to_idx[c]) for c in self.classes
                        for p in sorted((self.root / c).rglob("*"))
                        if p.is_file() and p.suffix.lower() in exts]
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no images ({', '.join(exts)}) in class directories under "
                                    f"{self.root} (found classes {self.classes})")
        self.targets = np.array([label for _, label in self.samples], dtype=np.int64)

    def __len__(self):
        return len(self.samples)

    def load(self, path) -> np.ndarray:
        """The image file at ``path`` as float32 (C, H, W) in [0, 1]."""
        with self._image.open(path) as img:
            a = np.asarray(img.convert(self.mode), dtype=np.float32) / np.float32(255)
        return a[None] if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))

    def __getitem__(self, index):
        path, label = self.samples[_check_index("ImageFolder", index, len(self))]
        x = self.load(path)
        return (self.transform(x) if self.transform else x,
                self.target_transform(label) if self.target_transform else label)

    def __repr__(self):
        return f"ImageFolder(root={self.root}, n={len(self)}, classes={len(self.classes)})"
