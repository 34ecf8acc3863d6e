import builtins

import numpy as np
import pytest

from deepkern.viz import image_grid, save_image


def test_image_grid_layout_and_scaling():
    imgs = np.stack([np.full((2, 3), v) for v in (0.0, 1.0, 2.0)])   # 3 images 2x3
    g = image_grid(imgs, nrow=2, padding=1, pad_value=0.5)
    assert g.shape == (2 * 3 + 1, 2 * 4 + 1)                    # 2 rows, 2 columns, 1-pixel borders
    assert g[1, 1] == 0.0 and g[1, 5] == 0.5 and g[4, 1] == 1.0   # scaled by the batch's min..max
    assert g[0, 0] == 0.5 and g[4, 5] == 0.5                     # padding, and the empty last cell
    each = image_grid(imgs + np.arange(6).reshape(1, 2, 3), nrow=3, padding=0, scale_each=True)
    assert each.min() == 0.0 and each.max() == 1.0 and np.allclose(each[:, :3], each[:, 3:6])
    fixed = image_grid(np.full((1, 784), 0.25), value_range=(0, 1), padding=0)
    assert fixed.shape == (28, 28) and np.allclose(fixed, 0.25)
    rgb = image_grid(np.zeros((2, 3, 4, 4)), padding=0)
    assert rgb.shape == (4, 8, 3)
    with pytest.raises(ValueError, match=r"flat images of 10 values need image_shape"):
        image_grid(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="no images"):
        image_grid(np.zeros((0, 4, 4)))


def test_save_image_writes_a_png(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    path = save_image(np.random.default_rng(0).random((5, 1, 28, 28)), tmp_path / "sub" / "grid.png", nrow=5,
                      upscale=2)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (2 * (5 * 30 + 2), 2 * 32)


def test_save_image_without_pillow_or_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_images(name, *args, **kwargs):
        if name.split(".")[0] in ("PIL", "matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_images)
    with pytest.raises(ImportError, match=r"save_image needs Pillow or matplotlib: pip install pillow"):
        save_image(np.zeros((1, 4, 4)), tmp_path / "x.png")
