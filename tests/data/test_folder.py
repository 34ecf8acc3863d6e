"""ImageFolder on PNG/JPEG files the test writes (when Pillow is installed), on the CIFAR-10
JPEG subset in ../shared/data (when present), and its error without Pillow."""
import builtins
import zipfile
from pathlib import Path

import numpy as np
import pytest

from deepkern.data import DataLoader, ImageFolder, transforms as T

CIFAR_ZIP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10_subset" / "cifar10_jpeg_subset.zip"


def _write_images(root, Image):
    rng = np.random.default_rng(0)
    pixels = {}
    for cls, n in (("cat", 3), ("dog", 2)):
        (root / cls).mkdir(parents=True)
        for k in range(n):
            a = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            path = root / cls / f"{k}.png"
            Image.fromarray(a).save(path)
            pixels[path] = a
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(root / "dog" / "z.jpg")
    (root / "dog" / "notes.txt").write_text("not an image")
    return pixels


def test_image_folder_reads_classes_in_sorted_order(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pixels = _write_images(tmp_path, Image)
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert len(ds) == 6 and ds.targets.tolist() == [0, 0, 0, 1, 1, 1]
    for i, (path, label) in enumerate(ds.samples):
        x, y = ds[i]
        assert x.shape == (3, 6, 5) and x.dtype == np.float32 and y == label
        if path in pixels:   # PNG is lossless: exact pixels, channels first, scaled to [0, 1]
            np.testing.assert_array_equal(x, pixels[path].transpose(2, 0, 1) / np.float32(255))
    gray = ImageFolder(tmp_path, mode="L", transform=T.RandomCrop(4))
    assert gray[0][0].shape == (1, 4, 4)
    xb, yb = next(iter(DataLoader(gray, batch_size=4, shuffle=True, seed=0)))
    assert xb.shape == (4, 1, 4, 4) and yb.dtype == np.int64


def test_image_folder_errors(tmp_path):
    pytest.importorskip("PIL.Image")
    with pytest.raises(FileNotFoundError, match="ImageFolder: .* is not a directory"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(FileNotFoundError, match=r"ImageFolder: no images .* \(found classes \['empty_class'\]\)"):
        ImageFolder(tmp_path)
    with pytest.raises(ValueError, match="ImageFolder: mode must be 'RGB' or 'L', got 'CMYK'"):
        ImageFolder(tmp_path, mode="CMYK")


def test_image_folder_without_pillow_says_what_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"ImageFolder needs Pillow .*deepkern\[images\]"):
        ImageFolder(tmp_path)


@pytest.mark.skipif(not CIFAR_ZIP.is_file(), reason="../shared/data/cifar10_subset not present")
def test_image_folder_on_the_cifar10_jpeg_subset(tmp_path):
    pytest.importorskip("PIL.Image")
    with zipfile.ZipFile(CIFAR_ZIP) as z:
        names = [n for n in z.namelist() if n.startswith("test/") and n.endswith(("0000.jpg", "0001.jpg"))]
        z.extractall(tmp_path, members=names)
    ds = ImageFolder(tmp_path / "test")
    assert ds.classes == "airplane automobile bird cat deer dog frog horse ship truck".split()
    assert len(ds) == 20 and np.bincount(ds.targets).tolist() == [2] * 10
    xb, yb = next(iter(DataLoader(ds, batch_size=20)))
    assert xb.shape == (20, 3, 32, 32) and 0.0 <= xb.min() and xb.max() <= 1.0 and xb.std() > 0.1
