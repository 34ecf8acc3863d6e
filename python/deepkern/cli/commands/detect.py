"""Run a YOLO model trained by 'deepkern train yolo' on an image and write a PNG with its boxes,
classes and scores (enlarged when the image is small, so the labels stay readable); the
detections are also printed."""
import os

from .. import UsageError, existing_file, fraction, output_path, require

HELP = "draw the detections of a 'train yolo' checkpoint on an image"
USAGE = "IMAGE --checkpoint CKPT"


def add_arguments(p):
    p.add_argument("image", type=existing_file, metavar="IMAGE", help="input image (any format Pillow reads)")
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="a checkpoint written by 'deepkern train yolo'")
    p.add_argument("--out", default=None, metavar="PNG",
                   help="output PNG (default: next to IMAGE, named IMAGE_STEM.detections.png)")
    p.add_argument("--score-threshold", type=fraction, default=0.6, help="keep boxes with Pc * class prob >= this")
    p.add_argument("--iou-threshold", type=fraction, default=0.5, help="per-class NMS IoU threshold")


def load_detector(path, flag="--checkpoint"):
    """(model, class names) from a 'deepkern train yolo' checkpoint or a save_yolo file."""
    from ...models.yolo import yolo_from_state
    from ...serialization import CheckpointError, load
    from ...train.task import load_checkpoint
    from ...train.tasks import yolo

    if os.path.isfile(path):
        try:
            state = load(path)
        except CheckpointError:
            state = None
        if isinstance(state, dict) and state.get("format") == "deepkern-yolo":
            return yolo_from_state(state)
    return yolo.load_model(load_checkpoint(path, ("yolo",), flag))


def run(args) -> int:
    import numpy as np

    Image = require("PIL.Image", "IMAGE", package="pillow", extra="images")
    out = args.out or os.path.splitext(args.image)[0] + ".detections.png"
    output_path(out, "--out")
    model, names = load_detector(args.checkpoint)
    try:
        with Image.open(args.image) as picture:
            image = np.asarray(picture.convert("RGB"))
    except (OSError, Image.DecompressionBombError) as e:
        raise UsageError("IMAGE", f"cannot read {args.image} as an image ({e})") from None
    from ...models.yolo import detect_image, draw_detections

    det = detect_image(model, image, args.score_threshold, args.iou_threshold)
    width, height = draw_detections(image, det, names, out)
    for box, score, label in zip(det["boxes"], det["scores"], det["labels"]):
        print(f"{names[int(label)]:>8s} {float(score):.3f}  box (x1, y1, x2, y2) = "
              f"({box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f})")
    print(f"{len(det['boxes'])} detections drawn to {out} ({width}x{height})")
    return 0
