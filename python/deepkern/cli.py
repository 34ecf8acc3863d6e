"""The ``deepkern`` command: ``deepkern info``, ``deepkern bench``, ``deepkern train``."""
from __future__ import annotations

import argparse
import sys


def _cmd_info(args) -> int:
    from . import info
    for key, value in info().items():
        print(f"{key:22s} {value}")
    return 0


def _add_train(sub) -> None:
    from .train import tasks

    p = sub.add_parser("train", help="train a model of the course on real data")
    task_sub = p.add_subparsers(dest="task", required=True, metavar="TASK")
    for name in tasks.available():
        module = tasks.load(name)
        tp = task_sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(tp)
        tp.set_defaults(func=module.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepkern", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="version, build options, CPU features and kernels, CUDA")
    p.set_defaults(func=_cmd_info)
    _add_train(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
