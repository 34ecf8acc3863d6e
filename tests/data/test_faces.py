"""Face data: the shipped ORL set, the two on-disk formats, identity splits and P x K batches."""
import numpy as np
import pytest

from deepkern.data import FaceDataset, IdentityBatchLoader, identity_folds, load_faces, split_identities
from deepkern.data import transforms as T


def test_shipped_orl_faces():
    ds = load_faces()
    assert len(ds) == 400 and ds.images.shape == (400, 1, 112, 92) and ds.images.dtype == np.float32
    assert 0 <= ds.images.min() and ds.images.max() <= 1 and ds.images.std() > 0.1
    np.testing.assert_array_equal(np.bincount(ds.labels), np.full(40, 10))
    x, y = ds[15]
    assert x.shape == (1, 112, 92) and y == 1


def _write_person(root, name, sizes, value):
    from PIL import Image
    (root / name).mkdir(parents=True)
    for k, (h, w) in enumerate(sizes):
        Image.fromarray(np.full((h, w), value + k, np.uint8)).save(root / name / f"{k}.png")


def test_folder_of_people_and_npz(tmp_path):
    pytest.importorskip("PIL")
    _write_person(tmp_path / "people", "bob", [(12, 10)] * 3, 50)
    _write_person(tmp_path / "people", "alice", [(12, 10)] * 2, 100)
    ds = load_faces(tmp_path / "people")
    assert ds.names == ["alice", "bob"] and ds.images.shape == (5, 1, 12, 10)
    np.testing.assert_array_equal(ds.labels, [0, 0, 1, 1, 1])
    np.testing.assert_allclose(ds.images[:, 0, 0, 0] * 255, [100, 101, 50, 51, 52], atol=1e-4)
    np.savez(tmp_path / "mine.npz", images=(ds.images[:, 0] * 255).round().astype(np.uint8), labels=ds.labels,
             names=np.array(ds.names))
    again = load_faces(tmp_path / "mine.npz")
    np.testing.assert_allclose(again.images, ds.images, atol=1e-6)
    assert again.names == ["alice", "bob"]
    assert load_faces(tmp_path).names == ["alice", "bob"]  # a folder holding one .npz


def test_bad_face_data_gets_clear_errors(tmp_path):
    pytest.importorskip("PIL")
    _write_person(tmp_path / "mixed", "a", [(12, 10), (12, 10)], 0)
    _write_person(tmp_path / "mixed", "b", [(12, 10), (16, 10)], 0)
    with pytest.raises(ValueError, match=r"load_faces: images must all have one size, but .*a/0.png is 12x10 and "
                                         r".*b/1.png is 16x10 \(height x width\); resize them first"):
        load_faces(tmp_path / "mixed")
    with pytest.raises(FileNotFoundError, match=r"load_faces: .*nowhere does not exist"):
        load_faces(tmp_path / "nowhere")
    np.savez(tmp_path / "bad.npz", pixels=np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"load_faces: .*bad.npz has no images or labels array \(found pixels\)"):
        load_faces(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match=r"FaceDataset: labels must be 3 integer identity ids"):
        FaceDataset(np.zeros((3, 4, 4), np.uint8), np.zeros(2, np.int64))


def test_identity_splits_keep_people_apart():
    labels = np.repeat(np.arange(40), 10)
    train, test = split_identities(labels, n_test=10, seed=0)
    assert len(train) == 30 and len(test) == 10 and not set(train) & set(test)
    assert set(train) | set(test) == set(range(40))
    np.testing.assert_array_equal(split_identities(labels, 10, seed=0)[1], test)
    assert not np.array_equal(split_identities(labels, 10, seed=1)[1], test)
    folds = identity_folds(labels, k=4, seed=0)
    tested = np.concatenate([t for _, t in folds])
    assert sorted(tested) == list(range(40))  # every person tested exactly once
    for tr, te in folds:
        assert len(te) == 10 and not set(tr) & set(te) and len(tr) + len(te) == 40
    with pytest.raises(ValueError, match=r"split_identities: n_test must leave identities to train on"):
        split_identities(labels, n_test=40)
    with pytest.raises(ValueError, match=r"identity_folds: need at least two identities, got 1"):
        identity_folds(np.zeros(5, int))


def test_identity_batches_are_p_by_k_and_resumable():
    labels = np.repeat(np.arange(12), 7)
    ds = FaceDataset(np.random.default_rng(0).random((84, 6, 5)).astype(np.float32), labels)
    loader = IdentityBatchLoader(ds, identities_per_batch=4, samples_per_identity=3, seed=5,
                                 transform=T.RandomHorizontalFlip())
    batches = list(loader)
    assert len(batches) == len(IdentityBatchLoader(ds, 4, 3, seed=5))
    seen = []
    for x, y in batches:
        assert x.shape == (12, 1, 6, 5) and y.shape == (12,)
        ids, counts = np.unique(y, return_counts=True)
        assert len(ids) == 4 and np.all(counts == 3)
        seen.append(y)
    np.testing.assert_array_equal(np.bincount(np.concatenate(seen)), 9)  # 3 draws of 3 per person: all used
    again = IdentityBatchLoader(ds, 4, 3, seed=5, transform=T.RandomHorizontalFlip())
    again.load_state_dict({"seed": 5, "epoch": 1})
    second = next(iter(loader))  # loader is at epoch 1 now
    np.testing.assert_array_equal(next(iter(again))[0], second[0])
    with pytest.raises(ValueError, match=r"IdentityBatchLoader: identities_per_batch=13 but the dataset has only "
                                         r"12 identities"):
        IdentityBatchLoader(ds, 13, 2)
