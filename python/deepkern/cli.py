"""The ``deepkern`` command: ``deepkern info``, ``deepkern bench``, ``deepkern train``."""
from __future__ import annotations

import argparse
import sys


def _cmd_info(args) -> int:
    from . import info
    for key, value in info().items():
        print(f"{key:22s} {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepkern", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="version, build options, CPU features and kernels, CUDA")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
