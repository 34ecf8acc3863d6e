"""Training and evaluating one-shot face verification (``deepkern train faces``).

Protocol (every number is on people the model never saw):

- Split by identity: train people, validation people and test people, never one person in two
  of them (``deepkern.data.split_identities`` / ``identity_folds``).
- Train an embedding on the train people's images, in batches of P people x K images:
  the triplet loss mined inside each batch ('hard', 'semihard', 'all', or 'random' triplets),
  the contrastive loss, or the binary classifier head, on in-batch pairs (every same pair and as
  many random different pairs).
- Verification on the test people: every pair scored by its embedding distance; ROC AUC, and
  balanced accuracy at the distance threshold chosen on the *validation* people's pairs (people
  held out of training: the training people's pairs are pulled tighter than new people's, so a
  threshold chosen on them rejects too many same-person pairs of unseen people).
- One-shot identification among the test people: one gallery image per person, every other
  image a probe, nearest gallery embedding wins; the mean over each image being the gallery.
- Baseline on the same split: eigenfaces (scikit-learn PCA fitted on the train people,
  Euclidean nearest neighbour in PCA space), through the same evaluation code.
"""
from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn, ops
from .._backend import array_module
from .._device import to_device
from ..autograd import Tensor, no_grad
from ..data.transforms import Compose, RandomCrop, RandomHorizontalFlip
from ..metrics.verification import (balanced_accuracy, best_threshold, one_shot_accuracy, roc_auc, roc_curve,
                                    verification_pairs)
from ..models.siamese import FaceEmbeddingNet, Siamese, SiameseClassifier, in_batch_pairs

__all__ = ["LOSSES", "MINING", "FaceLoss", "build_face_model", "face_augmentation", "embed", "pair_distances",
           "evaluate_faces", "eigenfaces", "plot_mining_curves", "plot_roc", "plot_projection"]

LOSSES = ("triplet", "contrastive", "binary")
MINING = ("random", "hard", "semihard", "all")


def build_face_model(loss="triplet", embedding_dim=64, width=32):
    """A Siamese model around a FaceEmbeddingNet (``loss='binary'``: the classifier head too)."""
    net = FaceEmbeddingNet(embedding_dim, width=width)
    return SiameseClassifier(net, embedding_dim) if loss == "binary" else Siamese(net)


def face_augmentation(image_size, shift=6):
    """Random translations by up to ``shift`` pixels and left-right mirroring."""
    return Compose([RandomCrop(tuple(image_size), padding=shift), RandomHorizontalFlip()])


class FaceLoss:
    """``loss_fn(embeddings, labels)`` for ``fit``: the loss of one P x K batch.

    triplet: ``F.batch_triplet_loss`` with the given mining; contrastive / binary: in-batch
    pairs (``in_batch_pairs``) through ``F.contrastive_loss`` or the model's classifier head
    and binary cross-entropy. For the triplet loss ``active_fraction`` is, since ``reset``, the
    fraction of the chosen triplets whose cost is positive (the only ones that give a gradient):
    the course's point that random triplets are mostly easy.
    """

    def __init__(self, kind="triplet", mining="hard", margin=0.2, model=None, squared=False, generator=None):
        if kind not in LOSSES:
            raise ValueError(f"FaceLoss: loss must be one of {', '.join(LOSSES)}, got {kind!r}")
        if kind == "triplet" and mining not in MINING:
            raise ValueError(f"FaceLoss: mining must be one of {', '.join(MINING)}, got {mining!r}")
        if kind == "binary" and not isinstance(model, SiameseClassifier):
            raise TypeError("FaceLoss: loss='binary' needs the SiameseClassifier model (its head scores the pairs)")
        self.kind, self.mining, self.margin, self.squared = kind, mining, float(margin), bool(squared)
        self.model = model
        self.rng = generator if generator is not None else np.random.default_rng(0)
        self.reset()

    def reset(self):
        self._active, self._chosen = 0, 0

    @property
    def active_fraction(self) -> float:
        return self._active / self._chosen if self._chosen else float("nan")

    def __call__(self, emb, labels):
        labels_host = labels.get() if hasattr(labels, "get") and not isinstance(labels, np.ndarray) else labels
        if self.kind == "triplet":
            loss = F.batch_triplet_loss(emb, labels, self.margin, self.mining, self.squared, generator=self.rng)
            self._count_triplets(emb.data, labels_host)
            return loss
        i, j, same = in_batch_pairs(labels_host, self.rng)
        xp = array_module(emb.data)
        i, j, target = xp.asarray(i), xp.asarray(j), xp.asarray(same.astype(emb.dtype))
        e1, e2 = emb[i], emb[j]
        if self.kind == "contrastive":
            rows = F.contrastive_loss(e1, e2, target, self.margin, reduction="none")
        else:
            rows = F.binary_cross_entropy_with_logits(self.model.score(e1, e2), target, reduction="none")
        return F.mean(rows)

    def _count_triplets(self, emb, labels):
        """How many of the batch's triplets have a positive cost (no gradients): for 'hard' and
        'semihard' the mined ones, for 'all' and 'random' (uniform draws) all of them."""
        emb = emb.get() if hasattr(emb, "get") and not isinstance(emb, np.ndarray) else emb
        dist = ops.cdist(emb, emb, squared=self.squared)
        if self.mining in ("hard", "semihard"):
            _, chosen = ops.triplet_mining(dist, labels, self.margin, self.mining)
            grad = ops.triplet_mining_backward(np.ones(1, dist.dtype), dist, labels, self.margin, self.mining)
            active = grad > 0  # +1 at each active (anchor, positive)
        else:
            _, active = ops.triplet_mining(dist, labels, self.margin, "all")
            same = labels[:, None] == labels[None, :]
            chosen = (same.sum(1) - 1) * (~same).sum(1)
        self._active += int(np.sum(active))
        self._chosen += int(np.sum(chosen))


def embed(model, images, batch_size=128, device="cpu", flip=False):
    """Embeddings (N, D) float64 NumPy of images (N, 1, H, W) in eval mode, without gradients.
    ``flip``: the normalized mean of the image's and its mirror image's embeddings (the model is
    trained on mirrored faces too, so both are views of one face)."""
    was_training = model.training
    model.eval()
    out = []
    try:
        with no_grad():
            for start in range(0, len(images), batch_size):
                x = np.ascontiguousarray(images[start:start + batch_size])
                views = [x, np.ascontiguousarray(x[..., ::-1])] if flip else [x]
                e = sum(_host(model(Tensor(to_device(v, device))).data).astype(np.float64) for v in views)
                out.append(e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12) if flip else e)
    finally:
        model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0))


def _host(x):
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def pair_distances(model, e1, e2, device="cpu"):
    """Distances (len(e1), len(e2)) between two sets of embeddings as ``model`` compares faces:
    Euclidean for a Siamese model (and for plain features, ``model=None``), minus the classifier
    head's logit of "same person" for a SiameseClassifier."""
    if not isinstance(model, SiameseClassifier):
        return ops.cdist(np.asarray(e1, np.float64), np.asarray(e2, np.float64))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            dtype = model.head.weight.dtype
            a = to_device(np.asarray(e1, dtype), device)
            rows = [-_host(model.score(Tensor(a), Tensor(to_device(np.broadcast_to(e, a.shape).copy(), device))).data)
                    for e in np.asarray(e2, dtype)]
    finally:
        model.train(was_training)
    return np.stack(rows, axis=1).astype(np.float64) if rows else np.zeros((len(e1), 0))


def evaluate_faces(test_emb, test_labels, val_emb=None, val_labels=None, model=None, seed=0):
    """Verification and one-shot numbers on the test people from their embeddings, compared as
    ``model`` compares them (:func:`pair_distances`); with the embeddings of validation people
    (people neither trained on nor tested), also the balanced accuracy at the threshold chosen
    on the validation people's pairs.

    Returns a dict: ``auc``, ``one_shot`` (mean over rounds), ``one_shot_rounds``, ``ways``
    (people in the test set), ``fpr``/``tpr`` (the test ROC curve) and, with the validation set,
    ``threshold`` and ``accuracy``.
    """
    dist = pair_distances(model, test_emb, test_emb)
    d_test, same_test = verification_pairs(dist, test_labels)
    fpr, tpr, _ = roc_curve(-d_test, same_test)
    one_shot, rounds = one_shot_accuracy(dist, test_labels, seed=seed)
    result = {"auc": roc_auc(-d_test, same_test), "one_shot": one_shot, "one_shot_rounds": rounds,
              "ways": int(np.unique(test_labels).size), "fpr": fpr, "tpr": tpr}
    if val_emb is not None:
        d_val, same_val = verification_pairs(pair_distances(model, val_emb, val_emb), val_labels)
        result["threshold"] = best_threshold(d_val, same_val)
        result["accuracy"] = balanced_accuracy(d_test, same_test, result["threshold"])
    return result


def eigenfaces(train_images, n_components=50, seed=0):
    """Eigenfaces (Turk & Pentland 1991): scikit-learn PCA fitted on the training images
    (N, 1, H, W); returns a function mapping images to their PCA coefficients (N, n_components),
    compared by Euclidean distance (nearest neighbour) like the learned embeddings."""
    try:
        from sklearn.decomposition import PCA
    except ImportError as e:
        raise ImportError("the eigenfaces baseline needs scikit-learn: pip install 'deepkern[faces]' "
                          "(or pip install scikit-learn)") from e
    flat = np.asarray(train_images, np.float64).reshape(len(train_images), -1)
    n_components = min(int(n_components), *flat.shape)
    pca = PCA(n_components=n_components, svd_solver="full", random_state=seed).fit(flat)
    return lambda images: pca.transform(np.asarray(images, np.float64).reshape(len(images), -1))


# ---- plots (matplotlib, optional) ---------------------------------------------------------------
def _figure(size):
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("plots need matplotlib: pip install 'deepkern[plot]' (or pip install matplotlib)") from e
    return Figure(figsize=size, layout="constrained")


def plot_mining_curves(histories, path, title="triplet mining on unseen people"):
    """One PNG, three panels against the epoch for each run in ``histories`` ({label: History}):
    the training loss, the fraction of the chosen triplets that are active, and the one-shot
    accuracy on the test people."""
    fig = _figure((13.5, 3.8))
    axes = fig.subplots(1, 3)
    panels = [("loss", "training loss"), ("active", "fraction of chosen triplets with loss > 0"),
              ("val_one_shot", "one-shot accuracy, unseen people")]
    for ax, (key, label) in zip(axes, panels):
        for name, h in histories.items():
            if key in h:
                ax.plot(h.epochs, h[key], "-o", markersize=2.5, label=name)
        ax.set_xlabel("epoch")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    fig.savefig(path, dpi=110, format="png")
    return path


def plot_roc(results, path, title="verification ROC, unseen people"):
    """ROC curves of ``results`` ({label: evaluate_embeddings dict}) on one PNG."""
    fig = _figure((5.0, 4.6))
    ax = fig.subplots()
    for name, r in results.items():
        ax.plot(r["fpr"], r["tpr"], label=f"{name} (AUC {r['auc']:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="gray")
    ax.set_xlabel("false accept rate (different people accepted)")
    ax.set_ylabel("true accept rate (same person accepted)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110, format="png")
    return path


def plot_projection(embeddings, labels, path, title="test embeddings, PCA to 2-D"):
    """The embeddings projected on their first two principal components, one colour per person."""
    e = np.asarray(embeddings, np.float64)
    e = e - e.mean(0)
    _, _, vt = np.linalg.svd(e, full_matrices=False)
    xy = e @ vt[:2].T
    fig = _figure((5.4, 4.8))
    ax = fig.subplots()
    ids = np.unique(labels)
    for k, person in enumerate(ids):
        m = labels == person
        ax.scatter(xy[m, 0], xy[m, 1], s=18, color=_palette(k, len(ids)), label=str(person))
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    if len(ids) <= 12:
        ax.legend(title="person", fontsize=7, ncols=2)
    fig.savefig(path, dpi=110, format="png")
    return path


def _palette(k, n):
    from matplotlib import colormaps
    return colormaps["tab10" if n <= 10 else "tab20"](k % 20)
