"""The ``deepkern`` command: ``deepkern info``, ``deepkern bench``, ``deepkern train``."""
from __future__ import annotations

import argparse
import sys


def _cmd_info(args) -> int:
    from . import info
    for key, value in info().items():
        print(f"{key:22s} {value}")
    return 0


def _cmd_bench(args) -> int:
    import os

    from . import bench

    cases = bench.load_cases(args.families)
    if args.list:
        for case in cases:
            print(case.id)
        return 0
    threads = args.threads or os.cpu_count() or 1
    if args.cpu_time and (threads != 1 or args.device != "cpu"):
        raise SystemExit("deepkern bench: --cpu-time needs --threads 1 on the CPU (other threads' "
                         "work would not be counted)")
    with bench.threads(threads):
        results = bench.run(cases, repeat=args.repeat, warmup=args.warmup, device=args.device,
                            cpu_time=args.cpu_time)
    about = bench.describe(threads, args.device, args.peak, args.cpu_time)
    if args.markdown:
        print("\n".join(f"- {line}" for line in about.splitlines()))
        print()
    else:
        print(about)
        print()
    print(bench.format_table(results, markdown=args.markdown, peak=args.peak, threads=threads, device=args.device))
    return 0


def _add_bench(sub) -> None:
    from . import bench

    p = sub.add_parser("bench", help="time deepkern against NumPy and PyTorch on the same inputs",
                       description="Time each registered case (deepkern, the NumPy reference, PyTorch) and "
                                   "print a table: median time, deepkern/PyTorch ratio, GFLOP/s, % of peak.")
    p.add_argument("families", nargs="*", metavar="family",
                   help=f"op families to run (default: all of {', '.join(bench.FAMILIES)})")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for deepkern, NumPy and PyTorch "
                                                             "(default: all cores)")
    p.add_argument("--repeat", type=int, default=5, help="timed calls per implementation (median reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls first")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--peak", type=float, default=None, help="machine peak in GFLOP/s for the %% peak column "
                                                           "(default: estimated from the CPU)")
    p.add_argument("--cpu-time", action="store_true",
                   help="time by the calling thread's CPU time (needs --threads 1): robust on a busy machine")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.set_defaults(func=_cmd_bench)


def _add_train(sub) -> None:
    from .train import tasks

    p = sub.add_parser("train", help="train a model of the course on real data")
    task_sub = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for name in tasks.available():
        module = tasks.load(name)
        tp = task_sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(tp)
        tp.set_defaults(func=module.run)


def _cmd_detect(args) -> int:
    import numpy as np

    try:
        from PIL import Image
    except ImportError:
        print("deepkern detect: reading and drawing images needs Pillow: pip install pillow "
              "(or pip install deepkern[images])", file=sys.stderr)
        return 2
    from .models.yolo import detect_image, draw_detections, load_yolo

    model, names = load_yolo(args.checkpoint)
    with Image.open(args.image) as picture:
        image = np.asarray(picture.convert("RGB"))
    det = detect_image(model, image, args.score_threshold, args.iou_threshold)
    draw_detections(image, det, names, args.out)
    for box, score, label in zip(det["boxes"], det["scores"], det["labels"]):
        print(f"{names[int(label)]:>8s} {float(score):.3f}  box (x1, y1, x2, y2) = "
              f"({box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f})")
    print(f"{len(det['boxes'])} detections drawn to {args.out}")
    return 0


def _add_detect(sub) -> None:
    p = sub.add_parser("detect", help="draw a trained YOLO model's detections on an image",
                       description="Run a YOLO checkpoint (from 'deepkern train yolo') on an image and "
                                   "write a PNG with the boxes, classes and scores.")
    p.add_argument("image", help="input image (any format Pillow reads)")
    p.add_argument("--checkpoint", required=True, help="a checkpoint written by 'deepkern train yolo'")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--score-threshold", type=float, default=0.6, help="keep boxes with Pc * class prob >= this")
    p.add_argument("--iou-threshold", type=float, default=0.5, help="per-class NMS IoU threshold")
    p.set_defaults(func=_cmd_detect)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepkern", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="version, build options, CPU features and kernels, CUDA")
    p.set_defaults(func=_cmd_info)
    _add_bench(sub)
    _add_train(sub)
    _add_detect(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
