"""IDX parsing, the MNIST-family datasets read from a directory, the download path (offline:
the fetch function is replaced by one serving bytes the test made), and the MNIST subset
shipped inside the package."""
import gzip
import hashlib
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from deepkern.data import MNIST, DataLoader, FashionMNIST, MNISTSubset, download, read_idx
from deepkern.data import transforms as T

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"

_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
          np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(a):
    """Encode an array as IDX (the writer the test needs; the package only reads)."""
    a = np.asarray(a)
    be = a.astype(a.dtype.newbyteorder(">")) if a.dtype.itemsize > 1 else a
    code = _CODES[be.dtype]
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + be.tobytes()


def write_mnist(root, n_train=12, n_test=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train).astype(np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test).astype(np.uint8)}
    files = {}
    for stem, a in arrays.items():
        data = idx_bytes(a)
        name = stem + (".gz" if gz else "")
        files[name] = gzip.compress(data, mtime=0) if gz else data
        (root / name).write_bytes(files[name])
    return arrays, files


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    a = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 50).astype(dtype)
    data = idx_bytes(a)
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    path.write_bytes(gzip.compress(data) if gz else data)
    out = read_idx(path)
    assert out.shape == (3, 4, 5) and out.dtype.isnative
    np.testing.assert_array_equal(out, a)


def test_read_idx_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="read_idx: .*bad is not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(idx_bytes(np.zeros((4, 3), np.uint8))[:-1])
    with pytest.raises(ValueError, match=r"has 23 bytes but its header \(shape \(4, 3\), uint8\) needs 24"):
        read_idx(short)
    head = tmp_path / "head"
    head.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(head)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_a_directory(tmp_path, gz):
    arrays, _ = write_mnist(tmp_path, gz=gz)
    train, test = MNIST(tmp_path), MNIST(tmp_path, train=False)
    assert len(train) == 12 and len(test) == 5
    np.testing.assert_array_equal(train.data, arrays["train-images-idx3-ubyte"])
    assert train.targets.dtype == np.int64
    x, y = train[3]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0], arrays["train-images-idx3-ubyte"][3] / np.float32(255))
    assert y == arrays["train-labels-idx1-ubyte"][3] and isinstance(y, int)
    xb, yb = train.get_batch(np.array([3, 0]))
    np.testing.assert_array_equal(xb[0], x)
    np.testing.assert_array_equal(yb, arrays["train-labels-idx1-ubyte"][[3, 0]])
    batches = list(DataLoader(train, batch_size=5, shuffle=True, seed=0))
    assert [b[0].shape[0] for b in batches] == [5, 5, 2]


def test_mnist_transforms_apply_to_samples_and_batches(tmp_path):
    write_mnist(tmp_path)
    ds = MNIST(tmp_path, transform=T.Normalize(0.5, 0.5), target_transform=lambda y: y * 0 + 1)
    x, y = ds[0]
    assert x.min() >= -1.0 and y == 1
    xb, yb = ds.get_batch(np.arange(4))
    np.testing.assert_array_equal(xb[0], x)
    np.testing.assert_array_equal(yb, np.ones(4))


def test_mnist_missing_files_say_how_to_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"MNIST: train-images-idx3-ubyte\[.gz\] not found in .*download=True"):
        MNIST(tmp_path)


def test_mnist_inconsistent_files(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(ValueError, match=r"MNIST: images must be \(N, H, W\) and labels \(N,\), got \(12, 28, 28\) and \(3,\)"):
        MNIST(tmp_path)


@pytest.fixture
def served(monkeypatch):
    """Replace the network: _fetch serves ``served[url] = bytes`` and fails for other URLs."""
    table, calls = {}, []

    def fake_fetch(url, out):
        calls.append(url)
        if url not in table:
            raise urllib.error.URLError(f"no route to {url}")
        out.write(table[url])

    monkeypatch.setattr(download, "_fetch", fake_fetch)
    table["calls"] = calls
    return table


def _resources(files):
    return tuple((name, hashlib.md5(data).hexdigest()) for name, data in files.items())


def test_download_offline_with_mirror_fallback(tmp_path, served, monkeypatch):
    arrays, files = write_mnist(tmp_path / "src")
    monkeypatch.setattr(MNIST, "mirrors", ("https://a.example/", "https://b.example/"))
    monkeypatch.setattr(MNIST, "resources", _resources(files))
    for name, data in files.items():
        served["https://b.example/" + name] = data  # the first mirror is down
    root = tmp_path / "cache"
    ds = MNIST(root, download=True)
    np.testing.assert_array_equal(ds.data, arrays["train-images-idx3-ubyte"])
    assert sorted(p.name for p in root.iterdir()) == sorted(files)   # no temporary files left
    n_calls = len(served["calls"])
    MNIST(root, train=False, download=True)                          # already there: no fetch
    assert len(served["calls"]) == n_calls


def test_download_checksum_mismatch_is_an_error_and_leaves_nothing(tmp_path, served, monkeypatch):
    _, files = write_mnist(tmp_path / "src")
    monkeypatch.setattr(FashionMNIST, "mirrors", ("https://a.example/",))
    monkeypatch.setattr(FashionMNIST, "resources", _resources(files))
    first = next(iter(files))
    for name, data in files.items():
        served["https://a.example/" + name] = data
    served["https://a.example/" + first] = files[first][:-1] + b"x"   # corrupted in transit
    root = tmp_path / "cache"
    with pytest.raises(RuntimeError, match=f"(?s)could not get {first}.*checksum mismatch: expected md5 "
                                           f"{hashlib.md5(files[first]).hexdigest()}, got"):
        FashionMNIST(root, download=True)
    assert list(root.iterdir()) == []


def test_download_network_errors_are_reported_per_mirror(tmp_path, served, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", ("https://a.example/", "https://b.example/"))
    with pytest.raises(RuntimeError, match=r"(?s)a\.example/train-images.*no route.*b\.example/train-images"):
        MNIST(tmp_path, download=True)


def test_default_root_is_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPKERN_CACHE", str(tmp_path))
    write_mnist(tmp_path / "FashionMNIST")
    assert len(FashionMNIST(train=False)) == 5
    assert download.cache_dir() == tmp_path


def test_embedded_subset_loads():
    train, test = MNISTSubset(train=True), MNISTSubset(train=False)
    assert train.data.shape == (20000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert train.data.dtype == np.uint8
    for ds in (train, test):
        counts = np.bincount(ds.targets, minlength=10)
        assert counts.size == 10 and counts.min() > 0.08 * len(ds)
    # images are digits, not noise: mostly background with a bright stroke in the middle
    mean = train.data.mean(axis=0)
    assert mean[:3].mean() < 1 and mean[10:18, 10:18].mean() > 60
    x, y = test[0]
    assert x.shape == (1, 28, 28) and 0 <= y < 10


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/data/mnist not present")
def test_full_mnist_from_shared_data_matches_the_subset():
    full = MNIST(SHARED_MNIST)
    assert len(full) == 60000 and len(MNIST(SHARED_MNIST, train=False)) == 10000
    sub = MNISTSubset()
    np.testing.assert_array_equal(full.data[:20000], sub.data)
    np.testing.assert_array_equal(full.targets[:20000], sub.targets)
