"""DataLoader, datasets and random_split: coverage of every sample, reproducible shuffling,
drop_last, batched fetching, and argument errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
from deepkern.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate,
                           random_split, transforms as T)


def _dataset(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return TensorDataset(x, np.arange(n, dtype=np.int64))


class ListDataset(Dataset):
    """Per-sample access only (no get_batch override): exercises the default collate path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2,), i, dtype=np.float32), i


@given(n=st.integers(0, 50), batch_size=st.integers(1, 17), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**32))
def test_every_sample_once_per_epoch(n, batch_size, shuffle, drop_last, seed):
    loader = DataLoader(_dataset(n), batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    for _ in range(2):
        ids = [y for _, y in loader]
        assert len(ids) == len(loader)
        assert all(len(b) == batch_size for b in ids[:-1] if ids)
        seen = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        expect = n - n % batch_size if drop_last else n
        assert seen.size == expect
        if drop_last:
            assert all(len(b) == batch_size for b in ids)
        else:
            np.testing.assert_array_equal(np.sort(seen), np.arange(n))
        assert len(np.unique(seen)) == seen.size
        if not shuffle:
            np.testing.assert_array_equal(seen, np.arange(expect))


def test_batches_carry_the_right_rows():
    ds = _dataset(23)
    for x, y in DataLoader(ds, batch_size=5, shuffle=True, seed=3):
        np.testing.assert_array_equal(x, ds.arrays[0][y])


def test_shuffle_is_reproducible_with_the_seed_and_differs_between_epochs():
    ds = _dataset(40)
    order = lambda loader: np.concatenate([y for _, y in loader])  # noqa: E731
    a, b, c = (DataLoader(ds, batch_size=8, shuffle=True, seed=s) for s in (7, 7, 8))
    ea1, eb1, ec1 = order(a), order(b), order(c)
    np.testing.assert_array_equal(ea1, eb1)
    assert not np.array_equal(ea1, ec1)
    ea2 = order(a)
    assert not np.array_equal(ea1, ea2)
    # the order of an epoch depends only on (seed, epoch): a fresh loader set to epoch 1 agrees
    d = DataLoader(ds, batch_size=8, shuffle=True, seed=7)
    d.load_state_dict({"seed": 7, "epoch": 1})
    np.testing.assert_array_equal(order(d), ea2)


def test_seed_none_follows_manual_seed():
    ds = _dataset(30)
    dk.manual_seed(5)
    a = np.concatenate([y for _, y in DataLoader(ds, batch_size=4, shuffle=True)])
    dk.manual_seed(5)
    b = np.concatenate([y for _, y in DataLoader(ds, batch_size=4, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_gradient_descent_flavours():
    ds = _dataset(10)
    assert len(DataLoader(ds, batch_size=len(ds))) == 1          # batch gradient descent
    assert len(DataLoader(ds, batch_size=4)) == 3                # mini-batch
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=1)) == 10               # online / stochastic


def test_default_collate_path_and_custom_collate():
    ds = ListDataset(7)
    batches = list(DataLoader(ds, batch_size=3))
    x, y = batches[-1]
    assert x.shape == (1, 2) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), np.arange(7))
    sizes = list(DataLoader(ds, batch_size=3, collate_fn=len))
    assert sizes == [3, 3, 1]


def test_loader_transform_is_seeded_per_epoch():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    ds = TensorDataset(x, np.zeros(2, np.int64))
    run = lambda seed: [b[0] for b in DataLoader(ds, batch_size=2, seed=seed, transform=T.GaussianNoise(1.0))]  # noqa: E731
    np.testing.assert_array_equal(run(1)[0], run(1)[0])
    assert not np.array_equal(run(1)[0], run(2)[0])
    plain = DataLoader(ds, batch_size=2, transform=lambda a: a * 2)
    np.testing.assert_array_equal(next(iter(plain))[0], x * 2)


def test_default_collate_kinds():
    out = default_collate([(np.zeros(2), 1, 0.5, True), (np.ones(2), 2, 1.5, False)])
    assert out[0].shape == (2, 2)
    assert out[1].dtype == np.int64 and out[2].dtype == np.float32 and out[3].dtype == bool
    d = default_collate([{"a": 1}, {"a": 2}])
    np.testing.assert_array_equal(d["a"], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_subset_concat_and_random_split():
    ds = _dataset(20)
    parts = random_split(ds, [12, 8], seed=0)
    ids = np.concatenate([np.concatenate([y for _, y in DataLoader(p, batch_size=5)]) for p in parts])
    np.testing.assert_array_equal(np.sort(ids), np.arange(20))
    np.testing.assert_array_equal(parts[0].indices, random_split(ds, [12, 8], seed=0)[0].indices)
    fr = random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert [len(p) for p in fr] == [10, 6, 4]
    assert [len(p) for p in random_split(_dataset(7), [0.5, 0.5], seed=1)] == [4, 3]
    sub = Subset(ds, [3, 1])
    assert sub[1][1] == 1 and sub[-1][1] == 1 and len(sub) == 2
    cat = ConcatDataset([ds, ListDataset(3)])
    assert len(cat) == 23 and cat[21][1] == 1 and cat[5][1] == 5
    assert len(ds + ds) == 40
    with pytest.raises(ValueError, match="random_split: lengths sum to 19 but the dataset has 20"):
        random_split(ds, [10, 9])
    with pytest.raises(ValueError, match="fractions"):
        random_split(ds, [0.5, 0.6])
    with pytest.raises(IndexError, match=r"Subset: indices must be in \[0, 20\)"):
        Subset(ds, [20])


def test_errors_name_the_argument():
    ds = _dataset(4)
    with pytest.raises(ValueError, match="DataLoader: batch_size must be >= 1, got 0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="DataLoader: batch_size must be an int"):
        DataLoader(ds, batch_size=2.0)
    with pytest.raises(TypeError, match="DataLoader: collate_fn must be callable"):
        DataLoader(ds, collate_fn=3)
    with pytest.raises(ValueError, match=r"TensorDataset: array 1 has 3 samples but array 0 has 4"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="TensorDataset: array 0 must be a NumPy array"):
        TensorDataset([1, 2])
    with pytest.raises(IndexError, match="TensorDataset: index 4 is out of range for 4 samples"):
        ds[4]
    assert ds[-1][1] == 3


def test_tensor_dataset_accepts_tensors():
    t = dk.Tensor(np.ones((3, 2), np.float32))
    ds = TensorDataset(t, np.arange(3))
    assert isinstance(ds.arrays[0], np.ndarray) and len(ds) == 3
