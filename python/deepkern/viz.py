"""Pictures of what models learned: image grids written as PNG files.

``image_grid`` tiles a batch of images into one array (torchvision.utils.make_grid's layout: row
by row, ``nrow`` per row, ``padding`` pixels between); ``save_image`` writes it as a PNG with
Pillow, or matplotlib when Pillow is missing (``pip install 'deepkern[images]'``). Images are
(N, H, W), (N, C, H, W) with C in (1, 3), or flat (N, H*W) with ``image_shape``; NumPy or CuPy.
Values are mapped from ``value_range`` (default: the batch's min and max; per image with
``scale_each``, which suits weight pictures) to [0, 1].
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["image_grid", "save_image", "require_png_writer"]


def _host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _as_images(images, image_shape):
    x = _host(images).astype(np.float64)
    if x.ndim == 2:
        if image_shape is None:
            side = int(round(np.sqrt(x.shape[1])))
            if side * side != x.shape[1]:
                raise ValueError(f"image_grid: flat images of {x.shape[1]} values need image_shape=(H, W)")
            image_shape = (side, side)
        x = x.reshape(len(x), *image_shape)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"image_grid: images must be (N, H, W), (N, 1|3, H, W) or (N, H*W), got shape {x.shape}")
    return x


def _rescale(x, value_range, scale_each):
    if value_range is not None:
        lo, hi = value_range
        return np.clip((x - lo) / max(hi - lo, 1e-12), 0, 1)
    axes = (1, 2, 3) if scale_each else None
    lo = x.min(axis=axes, keepdims=True) if x.size else 0.0
    hi = x.max(axis=axes, keepdims=True) if x.size else 1.0
    return (x - lo) / np.maximum(hi - lo, 1e-12)


def image_grid(images, nrow=8, padding=2, pad_value=1.0, value_range=None, scale_each=False, image_shape=None):
    """Tile images into one (H', W') (gray) or (H', W', 3) float array in [0, 1], ``nrow`` per row."""
    x = _rescale(_as_images(images, image_shape), value_range, scale_each)
    n, c, h, w = x.shape
    if n == 0:
        raise ValueError("image_grid: no images")
    cols = max(1, min(int(nrow), n))
    rows = -(-n // cols)
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding), pad_value, np.float64)
    for i in range(n):
        r, q = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top:top + h, left:left + w] = x[i]
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def require_png_writer(what="writing PNG images"):
    """Raise ImportError with the install command unless Pillow or matplotlib is importable."""
    for module in ("PIL", "matplotlib"):
        try:
            __import__(module)
            return module
        except ImportError:
            pass
    raise ImportError(f"{what} needs Pillow or matplotlib: pip install pillow (or pip install 'deepkern[images]')")


def save_image(images, path, nrow=8, padding=2, pad_value=1.0, value_range=None, scale_each=False, image_shape=None,
               upscale=1):
    """Write ``image_grid(images, ...)`` to ``path`` as a PNG, each pixel ``upscale`` x ``upscale``.
    Returns the path. Needs Pillow or matplotlib."""
    grid = image_grid(images, nrow, padding, pad_value, value_range, scale_each, image_shape)
    if upscale > 1:
        grid = grid.repeat(int(upscale), axis=0).repeat(int(upscale), axis=1)
    pixels = np.round(grid * 255).astype(np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = require_png_writer("save_image")
    if writer == "PIL":
        from PIL import Image
        Image.fromarray(pixels).save(path, format="PNG")
    else:
        import matplotlib.image
        matplotlib.image.imsave(path, pixels, cmap="gray", format="png")
    return path
