"""Say whether two face images show the same person, with a model trained by 'deepkern train
faces': prints the distance between the two faces' embeddings and the verdict, "same person"
when the distance is at most the threshold chosen on the validation people (held out of
training) or --threshold. For a model trained with --loss binary the distance is minus the classifier head's logit.

Images are read with Pillow, converted to grayscale and, when their size differs from the
training images', resized to it (faces should be cropped and framed like the training faces)."""
from .. import UsageError, existing_file, require

HELP = "say whether two face images show the same person, with a 'train faces' checkpoint"
USAGE = "IMG_A IMG_B --checkpoint CKPT"


def add_arguments(p):
    p.add_argument("image_a", type=existing_file, metavar="IMG_A", help="first face image (any format Pillow reads)")
    p.add_argument("image_b", type=existing_file, metavar="IMG_B", help="second face image")
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a checkpoint written by 'deepkern train faces'")
    p.add_argument("--threshold", type=float, default=None,
                   help="same person when the distance is at most this (default: the checkpoint's, chosen on the "
                        "validation people, held out of training)")


def _read(Image, path, flag, size):
    import numpy as np

    try:
        with Image.open(path) as picture:
            gray = picture.convert("L")
            original = gray.size[::-1]
            if original != size:
                gray = gray.resize(size[::-1], Image.BILINEAR)
            return np.asarray(gray, dtype=np.float32)[None] / np.float32(255), original
    except (OSError, Image.DecompressionBombError) as e:
        raise UsageError(flag, f"cannot read {path} as an image ({e})") from None


def run(args) -> int:
    import numpy as np

    from ...train.faces import embed, pair_distances
    from ...train.task import load_checkpoint
    from ...train.tasks import faces

    Image = require("PIL.Image", "IMG_A", package="pillow", extra="images")
    model, info = faces.load_model(load_checkpoint(args.checkpoint, ("faces",)))
    threshold = args.threshold if args.threshold is not None else info["threshold"]
    if threshold is None:
        raise UsageError("--checkpoint", f"{args.checkpoint} has no threshold yet (its run stopped before the last "
                                         "epoch): finish it with --resume, or give --threshold")
    size = info["image_size"]
    images, originals = zip(*[_read(Image, path, flag, size) for path, flag in
                              ((args.image_a, "IMG_A"), (args.image_b, "IMG_B"))])
    for path, original in zip((args.image_a, args.image_b), originals):
        if original != size:
            print(f"{path}: resized from {original[0]}x{original[1]} to the training size {size[0]}x{size[1]}")
    emb = embed(model, np.stack(images), flip=info["flip"])
    distance = float(pair_distances(model, emb[:1], emb[1:])[0, 0])
    same = distance <= threshold
    what = "-logit" if info["loss"] == "binary" else "distance"
    extra = f", P(same) {1 / (1 + np.exp(distance)):.3f}" if info["loss"] == "binary" else ""
    print(f"{what} {distance:.4f}{extra} (threshold {threshold:.4f}): {'same person' if same else 'different people'}")
    return 0
