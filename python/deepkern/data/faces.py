"""Face images by identity, for verification and one-shot recognition.

Two on-disk formats, both read by :func:`load_faces`:

- an ``.npz`` file with ``images`` (N, H, W) uint8 (or float in [0, 1]) and ``labels`` (N,)
  integer identity ids, optionally ``names`` (one per identity), as ``orl_faces.npz``;
- a folder with one sub-folder of images per person (``root/<person>/<any>.png``, any format
  Pillow reads, converted to grayscale): your own faces work the same way. Every image must
  have one size.

``load_faces()`` with no path loads the AT&T / ORL Database of Faces shipped with deepkern
(40 people x 10 grayscale images of 112 x 92 pixels; credit: AT&T Laboratories Cambridge,
Samaria & Harter 1994).

Evaluation splits by *identity*, so test people are never seen in training:
:func:`split_identities` (n people held out, seeded) and :func:`identity_folds` (k folds of
people). :class:`IdentityBatchLoader` yields the P identities x K images batches that the
in-batch triplet mining needs (every anchor then has positives and negatives).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import _random
from .._checks import integer
from .dataset import Dataset, _check_index
from .transforms import Transform

__all__ = ["FaceDataset", "load_faces", "split_identities", "identity_folds", "IdentityBatchLoader",
           "ORL_FACES"]

ORL_FACES = Path(__file__).resolve().parent / "faces" / "orl_faces.npz"


class FaceDataset(Dataset):
    """Grayscale face images (N, 1, H, W) float32 in [0, 1] with identity labels (N,) int64.

    ``names`` holds one name per identity id (``names[label]``). ``ds[i]`` is
    ``(image, label)``; ``ds.subset(ids)`` keeps the images of the given identities.
    """

    def __init__(self, images, labels, names=None):
        images = np.asarray(images)
        labels = np.asarray(labels)
        if images.ndim == 3:
            images = images[:, None]
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"FaceDataset: images must be (N, H, W) or (N, 1, H, W) grayscale, got shape "
                             f"{images.shape}")
        if labels.dtype.kind not in "iu" or labels.shape != (images.shape[0],):
            raise ValueError(f"FaceDataset: labels must be {images.shape[0]} integer identity ids (one per image), "
                             f"got {labels.dtype} of shape {labels.shape}")
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / np.float32(255)
        self.images = np.ascontiguousarray(images, dtype=np.float32)
        self.labels = labels.astype(np.int64)
        n_ids = int(self.labels.max()) + 1 if len(self.labels) else 0
        self.names = list(names) if names is not None else [str(k) for k in range(n_ids)]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        i = _check_index("FaceDataset", index, len(self))
        return self.images[i], int(self.labels[i])

    def get_batch(self, indices):
        return self.images[indices], self.labels[indices]

    @property
    def identities(self) -> np.ndarray:
        """The distinct identity ids, sorted."""
        return np.unique(self.labels)

    @property
    def image_size(self) -> tuple:
        return tuple(self.images.shape[2:])

    def subset(self, ids) -> "FaceDataset":
        """The images of identities ``ids`` (labels and names kept as they are)."""
        keep = np.isin(self.labels, np.asarray(ids))
        return FaceDataset(self.images[keep], self.labels[keep], self.names)

    def __repr__(self):
        return (f"FaceDataset({len(self)} images of {len(self.identities)} people, "
                f"{self.image_size[0]}x{self.image_size[1]})")


def _load_npz(path: Path) -> FaceDataset:
    with np.load(path, allow_pickle=False) as d:
        missing = {"images", "labels"} - set(d.files)
        if missing:
            raise ValueError(f"load_faces: {path} has no {' or '.join(sorted(missing))} array "
                             f"(found {', '.join(d.files)}); expected images (N, H, W) and labels (N,)")
        names = [str(n) for n in d["names"]] if "names" in d.files else None
        return FaceDataset(d["images"], d["labels"], names)


def _load_folder(root: Path) -> FaceDataset:
    from .folder import ImageFolder

    folder = ImageFolder(root, mode="L")
    images, first = [], None
    for path, _ in folder.samples:
        img = folder.load(path)
        if first is None:
            first = (path, img.shape[1:])
        elif img.shape[1:] != first[1]:
            raise ValueError(f"load_faces: images must all have one size, but {first[0]} is "
                             f"{first[1][0]}x{first[1][1]} and {path} is {img.shape[1]}x{img.shape[2]} "
                             "(height x width); resize them first")
        images.append(img)
    return FaceDataset(np.stack(images), folder.targets, folder.classes)


def load_faces(path=None) -> FaceDataset:
    """Faces from ``path``: an ``.npz`` file, a folder holding one, or a folder of per-person
    image folders; None loads the ORL faces shipped with deepkern."""
    path = ORL_FACES if path is None else Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"load_faces: {path} does not exist (give an .npz file or a folder of "
                                "per-person image folders)")
    if path.is_file():
        if path.suffix != ".npz":
            raise ValueError(f"load_faces: {path} is not an .npz file (give an .npz file or a folder of "
                             "per-person image folders)")
        return _load_npz(path)
    archives = sorted(path.glob("*.npz"))
    if len(archives) == 1:
        return _load_npz(archives[0])
    if len(archives) > 1:
        raise ValueError(f"load_faces: {path} holds several .npz files ({', '.join(a.name for a in archives)}); "
                         "give one of them")
    return _load_folder(path)


def _identities(op, labels):
    ids = np.unique(np.asarray(labels))
    if ids.size < 2:
        raise ValueError(f"{op}: need at least two identities, got {ids.size}")
    return ids


def split_identities(labels, n_test=10, seed=0):
    """(train_ids, test_ids): ``n_test`` identities drawn (seeded) to hold out, the rest to train;
    no identity is on both sides."""
    ids = _identities("split_identities", labels)
    n_test = integer("split_identities", "n_test", n_test, minimum=1)
    if n_test >= ids.size:
        raise ValueError(f"split_identities: n_test must leave identities to train on: n_test={n_test} of "
                         f"{ids.size} identities")
    perm = np.random.default_rng(seed).permutation(ids)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def identity_folds(labels, k=4, seed=0):
    """k (train_ids, test_ids) pairs: the identities shuffled (seeded) and cut into k folds, each
    fold the test people once. Every identity is tested exactly once."""
    ids = _identities("identity_folds", labels)
    k = integer("identity_folds", "k", k, minimum=2)
    if k > ids.size:
        raise ValueError(f"identity_folds: k={k} folds need at least {k} identities, got {ids.size}")
    folds = np.array_split(np.random.default_rng(seed).permutation(ids), k)
    return [(np.sort(np.concatenate(folds[:f] + folds[f + 1:])), np.sort(folds[f])) for f in range(k)]


class IdentityBatchLoader:
    """Batches of P identities x K images each, for losses that mine inside the batch.

    Each epoch every identity is drawn ``ceil(images / K)`` times, in seeded random rounds over
    the identities, grouped P distinct identities at a time; each draw takes K of that
    identity's images (cycling through a shuffled list of them, so every image is seen about
    once per epoch; draws that cannot complete a batch of P distinct identities are dropped). Identities with fewer than K images repeat images. Yields ``(x, y)``:
    x (P*K, 1, H, W) float32 after ``transform`` (batch augmentation with the epoch's
    generator), y (P*K,) int64. Like ``DataLoader``, the order of epoch e depends only on
    (seed, e), and ``state_dict``/``load_state_dict`` resume it.
    """

    def __init__(self, dataset, identities_per_batch=8, samples_per_identity=4, seed=None, transform=None):
        self.dataset = dataset
        self.p = integer("IdentityBatchLoader", "identities_per_batch", identities_per_batch, minimum=2)
        self.k = integer("IdentityBatchLoader", "samples_per_identity", samples_per_identity, minimum=2)
        ids = np.unique(dataset.labels)
        if ids.size < self.p:
            raise ValueError(f"IdentityBatchLoader: identities_per_batch={self.p} but the dataset has only "
                             f"{ids.size} identities")
        if transform is not None and not callable(transform):
            raise TypeError(f"IdentityBatchLoader: transform must be callable, got {type(transform).__name__}")
        self.transform = transform
        self.seed = int(_random.generator().integers(2**63)) if seed is None else integer(
            "IdentityBatchLoader", "seed", seed, minimum=0)
        self.epoch = 0
        self._members = {int(i): np.flatnonzero(dataset.labels == i) for i in ids}

    def _draws(self, rng):
        """(identity, K image indices) draws in rounds: each round visits, in a fresh random
        order, every identity that has draws left, so identities spread evenly over the epoch."""
        queues = {}
        for ident, members in self._members.items():
            order = rng.permutation(members)
            reps = -(-len(members) // self.k)
            cycle = np.resize(order, reps * self.k)  # wraps around when K does not divide the count
            queues[ident] = [cycle[r * self.k:(r + 1) * self.k] for r in range(reps)]
        draws = []
        while any(queues.values()):
            ids = [i for i, q in queues.items() if q]
            draws += [(i, queues[i].pop()) for i in rng.permutation(ids)]
        return draws

    def _batches(self, rng):
        """Group the draws P distinct identities at a time (a draw whose identity is already in
        the batch waits for the next one); leftovers that cannot fill P identities are dropped."""
        pending, batches = self._draws(rng), []
        while pending:
            batch, rest, seen = [], [], set()
            for ident, idx in pending:
                if ident not in seen and len(batch) < self.p:
                    batch.append(idx)
                    seen.add(ident)
                else:
                    rest.append((ident, idx))
            if len(batch) < self.p:
                break
            batches.append(np.concatenate(batch))
            pending = rest
        return batches

    def __len__(self):
        return len(self._batches(np.random.default_rng([self.seed, self.epoch])))

    def set_epoch(self, epoch):
        self.epoch = integer("IdentityBatchLoader.set_epoch", "epoch", epoch, minimum=0)

    def state_dict(self):
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state):
        self.seed = integer("IdentityBatchLoader.load_state_dict", "seed", int(state["seed"]), minimum=0)
        self.set_epoch(int(state["epoch"]))

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        for idx in self._batches(rng):
            x, y = self.dataset.get_batch(idx)
            if self.transform is not None:
                x = self.transform(x, rng=rng) if isinstance(self.transform, Transform) else self.transform(x)
            yield x, y

    def __repr__(self):
        return (f"IdentityBatchLoader({len(self._members)} identities, P={self.p} x K={self.k}, "
                f"seed={self.seed})")
