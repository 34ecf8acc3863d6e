"""MNIST-family datasets in the IDX format, and the MNIST subset shipped inside deepkern.

IDX (LeCun's format): two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
big-endian uint32, then the values big-endian in C order. Files may be gzip-compressed.

Datasets keep the whole split in memory, torchvision-style: ``data`` (N, 28, 28) uint8 and
``targets`` (N,) int64. A sample is ``(image, label)`` with ``image`` float32 (1, 28, 28) in
[0, 1] (what torchvision's ``ToTensor`` makes), then ``transform``; ``get_batch`` does the same
for a whole batch at once (``transform`` then receives the (B, 1, 28, 28) batch).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .dataset import Dataset, _check_index
from .download import cache_dir, download_file

__all__ = ["read_idx", "MNIST", "FashionMNIST", "MNISTSubset"]

_IDX_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw, or gzip when the name ends in .gz) into an array in native byte
    order, with the file's shape."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (header bytes {raw[:4].hex() or 'missing'})")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated: {len(raw)} bytes, the header alone needs {header}")
    shape = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"read_idx: {path} has {len(raw)} bytes but its header (shape {shape}, "
                         f"{dtype.name}) needs {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """The MNIST handwritten digits (LeCun, Cortes & Burges; CC BY-SA 3.0): 60,000 training and
    10,000 test images, 28x28 grayscale, labels 0-9.

    Args:
        root: directory holding the four IDX files (``train-images-idx3-ubyte[.gz]``,
            ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]``,
            ``t10k-labels-idx1-ubyte[.gz]``); default ``cache_dir()/MNIST``.
        train: the training split (else the test split).
        download: fetch missing files from the mirrors (MD5-verified, written atomically).
        transform: applied to each image (float32 (1, 28, 28) in [0, 1]) or batch.
        target_transform: applied to each label (an int) or batch of labels (int64 (B,)).
    """

    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    resources = (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))
    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root=None, train=True, download=False, transform=None, target_transform=None):
        self.root = Path(root).expanduser() if root is not None else cache_dir() / type(self).__name__
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        if download:
            self.download()
        split = "train" if self.train else "t10k"
        self.data = read_idx(self._find(f"{split}-images-idx3-ubyte"))
        self.targets = read_idx(self._find(f"{split}-labels-idx1-ubyte")).astype(np.int64)
        name = type(self).__name__
        if self.data.ndim != 3 or self.targets.ndim != 1 or len(self.data) != len(self.targets):
            raise ValueError(f"{name}: images must be (N, H, W) and labels (N,), got {self.data.shape} "
                             f"and {self.targets.shape} in {self.root}")

    def _find(self, stem):
        for candidate in (self.root / f"{stem}.gz", self.root / stem):
            if candidate.is_file():
                return candidate
        raise FileNotFoundError(f"{type(self).__name__}: {stem}[.gz] not found in {self.root}; pass "
                                "download=True to fetch it, or put the IDX files there")

    def download(self) -> None:
        """Fetch the files not already in ``root`` (raw or gzipped), verifying their MD5."""
        for name, md5 in self.resources:
            stem = name[:-3]
            if not ((self.root / name).is_file() or (self.root / stem).is_file()):
                download_file(name, self.mirrors, md5, self.root)

    def __len__(self):
        return int(len(self.targets))

    def __getitem__(self, index):
        i = _check_index(type(self).__name__, index, len(self))
        x = self.data[i][None].astype(np.float32) / np.float32(255)
        y = int(self.targets[i])
        return (self.transform(x) if self.transform else x,
                self.target_transform(y) if self.target_transform else y)

    def get_batch(self, indices):
        x = self.data[indices][:, None].astype(np.float32) / np.float32(255)
        y = self.targets[indices]
        return (self.transform(x) if self.transform else x,
                self.target_transform(y) if self.target_transform else y)

    def __repr__(self):
        return f"{type(self).__name__}(split={'train' if self.train else 'test'}, n={len(self)}, root={self.root})"


class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; MIT): Zalando article images in MNIST's
    format and sizes, 10 clothing classes. Same arguments as :class:`MNIST`."""

    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    resources = (("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot")


SUBSET_DIR = Path(__file__).resolve().parent / "mnist_subset"


class MNISTSubset(MNIST):
    """The MNIST subset shipped inside deepkern, for training with no network: the first
    20,000 images of MNIST's official training set and the whole official 10,000-image test
    set (see data/mnist_subset/README.md for provenance and license). Same samples, transforms
    and arrays as :class:`MNIST`; the split is fixed, so results are comparable between runs."""

    def __init__(self, train=True, transform=None, target_transform=None):
        super().__init__(SUBSET_DIR, train=train, transform=transform, target_transform=target_transform)
