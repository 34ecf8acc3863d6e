"""``deepkern train faces``: one-shot face verification with a Siamese network, on people the
network never saw (the course's one-shot learning chapter).

Data: the AT&T / ORL Database of Faces shipped with deepkern (40 people x 10 grayscale images,
112 x 92; credit: AT&T Laboratories Cambridge), or ``--data-dir DIR`` holding one ``.npz``
(``images`` (N, H, W) and ``labels`` (N,), as orl_faces.npz) or one folder of images per
person (your own faces work the same way; all images of one size).

The people are shuffled (``--split-seed``) and cut into groups of ``--test-people``; group
``--fold`` is held out entirely for testing, ``--val-people`` of the others are held out of
training to choose the verification threshold on, the rest train. A CNN embedding
(deepkern.models.FaceEmbeddingNet, unit-length outputs, shared by both branches of the Siamese
network) trains on batches of ``batch-size / images-per-person`` people x ``--images-per-person``
images, with random shifts and mirroring, by Adam with a cosine-decayed learning rate:

- ``--loss triplet``: max(0, margin + d(a, p) - d(a, n)) over triplets mined inside each batch,
  ``--mining hard`` (each anchor's farthest positive and nearest negative), ``semihard``
  (FaceNet), ``all``, or ``random`` (one random triplet per anchor: mostly easy ones, which
  give no gradient; the ``active`` column shows the fraction of chosen triplets that still do);
- ``--loss contrastive``: every same-person pair of the batch and as many random different pairs;
- ``--loss binary``: the same pairs through the course's classifier head
  sigmoid(w . |f(a) - f(b)| + b) and binary cross-entropy.

After every epoch the unseen people are scored: verification ROC AUC over all their pairs, and
one-shot N-way identification (one gallery image per person, every other image a probe; the mean
over each image serving as the gallery). At the end also the balanced verification accuracy at
the distance threshold chosen on the validation people (the threshold ``deepkern verify`` uses;
people the network did not train on, like the test people: a threshold chosen on the training
people is too tight for new faces, whose pairs the network has not pulled together),
with ``--baseline`` eigenfaces (scikit-learn PCA + nearest neighbour) on the same split, and
with ``--out DIR`` the ROC curves (roc.png), the test embeddings projected to 2-D coloured by
person (projection.png) and the numbers (results.json).
"""
from __future__ import annotations

import argparse
import json
import os

import numpy as np

from ...cli import UsageError, nonnegative_float, nonnegative_int, output_path, positive_int, require
from ..faces import LOSSES, MINING
from ..task import Task

DEFAULT_MARGIN = {"triplet": 0.5, "contrastive": 1.0, "binary": 0.0}


def load_model(ckpt):
    """(model in eval mode, settings) of a faces checkpoint: settings holds ``threshold`` (None
    until the run's last epoch), ``image_size``, ``loss`` and ``flip``."""
    from ..faces import build_face_model

    args, state = ckpt["args"], ckpt["state"]
    model = build_face_model(args["loss"], args["embedding_dim"], args["width"])
    model.load_state_dict(state["model"])
    model.eval()
    faces = state["faces"]
    threshold = float(faces["threshold"])
    return model, {"threshold": None if np.isnan(threshold) else threshold, "loss": args["loss"],
                   "image_size": tuple(int(v) for v in np.asarray(faces["image_size"])), "flip": bool(args["flip_test"])}


class Faces(Task):
    help = "one-shot face verification: Siamese CNN, triplet loss with hard mining (or contrastive, binary)"
    defaults = {"epochs": 60, "batch_size": 40, "lr": 1e-3}
    core_help = {"data_dir": "directory with one .npz (images, labels) or one folder of images per person "
                             "(default: the ORL faces shipped with deepkern)",
                 "batch_size": "images per batch: batch-size / images-per-person people x images-per-person",
                 "lr": "Adam's initial learning rate (cosine decay to 0)"}

    @classmethod
    def add_arguments(cls, p):
        a = p.add_argument
        a("--loss", choices=LOSSES, default="triplet", help="what the Siamese network is trained with")
        a("--mining", choices=("hard", "semihard", "all", "random"), default="hard",
          help="(triplet) which triplets of each batch the loss uses")
        a("--margin", metavar="M", type=nonnegative_float, default=None,
          help="(triplet, contrastive) the margin (default: triplet 0.5, contrastive 1.0; embeddings have length 1)")
        a("--squared", action="store_true", help="(triplet) mine and measure squared distances")
        a("--images-per-person", metavar="K", type=positive_int, default=5, help="images of each person in a batch")
        a("--test-people", metavar="N", type=positive_int, default=10, help="people held out for testing")
        a("--val-people", metavar="N", type=positive_int, default=5,
          help="people held out of training (and of testing) to choose the verification threshold on")
        a("--fold", metavar="F", type=nonnegative_int, default=0, help="which group of --test-people people is held out")
        a("--split-seed", metavar="N", type=nonnegative_int, default=0, help="seeds the shuffle of the people into groups")
        a("--embedding-dim", metavar="D", type=positive_int, default=64, help="length of the face embedding")
        a("--width", metavar="C", type=positive_int, default=32, help="channels of the first conv block (doubling twice)")
        a("--shift", metavar="PX", type=nonnegative_int, default=6, help="augmentation: random shifts by up to this many pixels")
        a("--weight-decay", metavar="L2", type=nonnegative_float, default=5e-4, help="Adam's L2 weight decay")
        a("--flip-test", action=argparse.BooleanOptionalAction, default=True,
          help="embed each face as the mean of its own and its mirror image's embeddings")
        a("--baseline", action="store_true",
          help="also evaluate eigenfaces (PCA + nearest neighbour) on the same split (needs scikit-learn)")
        a("--components", metavar="N", type=positive_int, default=50, help="(--baseline) eigenfaces kept")
        a("--out", default=None, metavar="DIR", help="write roc.png, projection.png and results.json here")

    def check(self):
        super().check()
        a = self.args
        k = a.images_per_person
        if k < 2:
            raise UsageError("--images-per-person", f"expected at least 2 (a positive needs a second image), got {k}")
        if a.batch_size % k or a.batch_size // k < 2:
            raise UsageError("--batch-size", f"expected a multiple of --images-per-person ({k}) holding at least "
                                             f"two people, got {a.batch_size}")
        if a.baseline:
            require("sklearn", "--baseline", package="scikit-learn", extra="faces")
        if a.out is not None:
            require("matplotlib", "--out", extra="plot")
            output_path(os.path.join(a.out, "results.json"), "--out")

    def setup(self):
        import deepkern as dk
        from ...data import IdentityBatchLoader, load_faces
        from ..faces import FaceLoss, build_face_model, face_augmentation

        a = self.args
        try:
            faces = load_faces(a.data_dir)
        except (OSError, ValueError, ImportError) as e:
            raise UsageError("--data-dir", str(e).replace("load_faces: ", "")) from None
        if min(faces.image_size) < 16:
            raise UsageError("--data-dir", f"the images are {faces.image_size[0]}x{faces.image_size[1]}: the network "
                                           "needs at least 16x16 (four halvings)")
        self.train_set, self.val_set, self.test_set = self._split(faces)
        people = len(self.train_set.identities)
        per_batch = a.batch_size // a.images_per_person
        if per_batch > people:
            raise UsageError("--batch-size", f"{per_batch} people per batch but only {people} train; lower "
                                             "--batch-size or --test-people")
        self.margin = DEFAULT_MARGIN[a.loss] if a.margin is None else a.margin
        self.model = build_face_model(a.loss, a.embedding_dim, a.width).to(self.device)
        self.optimizer = dk.optim.Adam(self.model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
        self.scheduler = dk.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, self.epochs)
        transform = face_augmentation(self.train_set.image_size, a.shift) if a.shift else None
        self.loader = IdentityBatchLoader(self.train_set, per_batch, a.images_per_person, seed=a.seed,
                                          transform=transform)
        self.loss_fn = FaceLoss(a.loss, a.mining, self.margin, model=self.model, squared=a.squared,
                                generator=self.rng)
        self.threshold = float("nan")
        how = f"{a.mining} mining, margin {self.margin:g}" if a.loss == "triplet" else (
            f"margin {self.margin:g}" if a.loss == "contrastive" else "classifier head")
        print(f"faces: {len(faces)} images of {len(faces.identities)} people, "
              f"{faces.image_size[0]}x{faces.image_size[1]}; training on {people} people "
              f"({len(self.train_set)} images), choosing the threshold on {len(self.val_set.identities)} others, "
              f"testing on {len(self.test_set.identities)} unseen "
              f"(fold {a.fold}); {a.loss} loss ({how}); {self.model.num_parameters():,} parameters; "
              f"{dk.get_num_threads()} threads; device {self.device}")

    def _split(self, faces):
        a = self.args
        ids = np.random.default_rng(a.split_seed).permutation(faces.identities)
        folds = len(ids) // a.test_people
        if a.test_people >= len(ids) - 1:
            raise UsageError("--test-people", f"{a.test_people} of {len(ids)} people leaves too few to train on")
        if a.fold >= folds:
            raise UsageError("--fold", f"expected 0..{folds - 1} ({len(ids)} people in groups of {a.test_people}), "
                                       f"got {a.fold}")
        if a.val_people < 2 or a.test_people + a.val_people > len(ids) - 2:
            raise UsageError("--val-people", f"expected at least 2 (a threshold needs pairs of different people) "
                                             f"and at most {len(ids) - 2 - a.test_people} (two people must train), "
                                             f"got {a.val_people}")
        test_ids = ids[a.fold * a.test_people:(a.fold + 1) * a.test_people]
        rest = ids[~np.isin(ids, test_ids)]  # in shuffled order
        val_ids, train_ids = rest[:a.val_people], rest[a.val_people:]
        train, val, test = faces.subset(train_ids), faces.subset(val_ids), faces.subset(test_ids)
        counts = np.bincount(faces.labels)
        few = [faces.names[i] for i in ids if counts[i] < 2]
        if few:
            raise UsageError("--data-dir", f"every person needs at least two images; {', '.join(few[:3])} "
                                           f"{'has' if len(few) == 1 else 'have'} one")
        return train, val, test

    def _embed(self, images):
        from ..faces import embed
        return embed(self.model, images, device=self.device, flip=self.args.flip_test)

    def train_epoch(self, epoch):
        from ..faces import evaluate_faces
        from ..loop import train_epoch

        self.loader.set_epoch(epoch)
        self.loss_fn.reset()
        with self.progress(total=len(self.loader)) as bar:
            logs = train_epoch(self.model, self.loss_fn, self.optimizer, self.loader, metrics=(),
                               device=self.device, bar=bar)
        self.scheduler.step()
        if self.args.loss == "triplet":
            logs["active"] = self.loss_fn.active_fraction
        last = epoch + 1 == self.epochs
        val = (self._embed(self.val_set.images), self.val_set.labels) if last else (None, None)
        r = evaluate_faces(self._embed(self.test_set.images), self.test_set.labels, *val, model=self.model)
        logs.update({"val_auc": r["auc"], "val_one_shot": r["one_shot"]})
        if last:
            self.threshold = r["threshold"]
            logs["val_accuracy"] = r["accuracy"]
        return logs

    def state_dict(self):
        state = super().state_dict()
        state["faces"] = {"threshold": np.float64(self.threshold),
                          "image_size": np.asarray(self.train_set.image_size, np.int64)}
        return state

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.threshold = float(state["faces"]["threshold"])

    def finish(self):
        from ..faces import eigenfaces, evaluate_faces, plot_projection, plot_roc

        a = self.args
        val_emb, test_emb = self._embed(self.val_set.images), self._embed(self.test_set.images)
        r = evaluate_faces(test_emb, self.test_set.labels, val_emb, self.val_set.labels, model=self.model)
        self.threshold = r["threshold"]
        results = {"model": r}
        unit = "-logit of the classifier head" if a.loss == "binary" else "distance"
        print(f"unseen people ({r['ways']}, fold {a.fold}): verification ROC AUC {r['auc']:.4f}, accuracy "
              f"{r['accuracy']:.4f} at {unit} <= {r['threshold']:.4f} (threshold chosen on the "
              f"{len(self.val_set.identities)} validation people, not trained on); one-shot {r['ways']}-way "
              f"identification {r['one_shot']:.4f}")
        if a.baseline:
            features = eigenfaces(self.train_set.images, a.components, seed=a.split_seed)
            b = evaluate_faces(features(self.test_set.images), self.test_set.labels,
                               features(self.val_set.images), self.val_set.labels)
            results["eigenfaces"] = b
            print(f"eigenfaces ({a.components} components, nearest neighbour), same split: ROC AUC {b['auc']:.4f}, "
                  f"accuracy {b['accuracy']:.4f}, one-shot {b['one_shot']:.4f}")
        if a.out is not None:
            os.makedirs(a.out, exist_ok=True)
            curves = {f"{a.loss}" + (f" ({a.mining})" if a.loss == "triplet" else ""): r}
            if "eigenfaces" in results:
                curves["eigenfaces"] = results["eigenfaces"]
            plot_roc(curves, os.path.join(a.out, "roc.png"))
            plot_projection(test_emb, self.test_set.labels, os.path.join(a.out, "projection.png"),
                            title=f"unseen people's embeddings (fold {a.fold}), PCA to 2-D")
            summary = {name: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in res.items()}
                       for name, res in results.items()}
            summary["people"] = {part: [str(ds.names[i]) for i in ds.identities] for part, ds in
                                 (("train", self.train_set), ("validation", self.val_set), ("test", self.test_set))}
            summary["settings"] = {k: v for k, v in vars(a).items() if not k.startswith("_") and k != "run"}
            summary["history"] = {k: list(self.history[k]) for k in self.history.keys()}
            with open(os.path.join(a.out, "results.json"), "w") as f:
                json.dump(summary, f, indent=1)
            print(f"wrote roc.png, projection.png and results.json to {a.out}")
        print(f"try: deepkern verify IMG_A IMG_B --checkpoint {a.checkpoint}")
