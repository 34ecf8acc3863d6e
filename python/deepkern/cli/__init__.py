"""The ``deepkern`` command.

Every top-level command is one module in ``deepkern/cli/commands/`` (``detect.py`` ->
``deepkern detect``), found automatically; see that package's docstring for what a module
defines. ``deepkern train TASK`` is one of them: its tasks live in ``deepkern/train/tasks/``
(see ``deepkern.train.task``).

User mistakes (a bad flag value, a missing file, a missing optional package, ``--device cuda``
without a GPU) raise :class:`UsageError`; ``main`` prints its message as one line on stderr,
``deepkern COMMAND: <flag>: <what is wrong and what to do>``, and returns exit code 2, without
a traceback. This module holds the helpers that make those checks one-liners: argparse types
(:func:`positive_int`, :func:`existing_file`, ...), :func:`require` for optional packages,
:func:`check_device` and :func:`output_path` (which creates an output's directory).
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys

__all__ = ["main", "build_parser", "UsageError", "Parser", "positive_int", "nonnegative_int", "positive_float",
           "nonnegative_float", "fraction", "existing_file", "existing_dir", "require", "check_device",
           "output_path", "command_listing"]


class UsageError(Exception):
    """A mistake of the user's, reported as one line (``flag: message``) with exit code 2."""

    def __init__(self, flag, message=None, prog=None):
        if message is None:
            flag, message = None, flag
        self.flag = flag
        self.prog = prog  # the command that failed, when known where the error is raised
        super().__init__(f"{flag}: {message}" if flag else message)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written (they hold lists), and every option's default in its help."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or default is None or default is False or default is argparse.SUPPRESS
                or not action.option_strings or action.nargs == 0):
            return text
        if isinstance(default, (list, tuple)):
            default = " ".join(map(str, default))
        return f"{text} (default: {default})" if text else f"default: {default}"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a bad command line raises UsageError instead of printing
    the usage and exiting, so every user mistake reads the same way."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        if message.startswith("argument "):
            message = message[len("argument "):]
        raise UsageError(f"{message} (see '{self.prog} --help')", prog=self.prog)


# ---- argparse types: each names what it wants, argparse adds the flag ------------------------

def _number(kind, text, ok, wanted):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"expected {wanted}, got {text}")
    return value


def positive_int(text):
    return _number(int, text, lambda v: v >= 1, "an integer >= 1")


def nonnegative_int(text):
    return _number(int, text, lambda v: v >= 0, "an integer >= 0")


def positive_float(text):
    return _number(float, text, lambda v: math.isfinite(v) and v > 0, "a number > 0")


def nonnegative_float(text):
    return _number(float, text, lambda v: math.isfinite(v) and v >= 0, "a number >= 0")


def fraction(text):
    return _number(float, text, lambda v: 0 <= v < 1, "a fraction in [0, 1)")


def existing_file(text):
    if not os.path.isfile(text):
        what = "a directory" if os.path.isdir(text) else "not found"
        raise argparse.ArgumentTypeError(f"{text}: {what} (give an existing file)")
    return text


def existing_dir(text):
    if not os.path.isdir(text):
        what = "a file, not a directory" if os.path.exists(text) else "no such directory"
        raise argparse.ArgumentTypeError(f"{text}: {what} (give an existing directory)")
    return text


# ---- checks for run() ------------------------------------------------------------------------

def require(module, flag, package=None, extra=None):
    """Import an optional ``module`` that ``flag`` needs, or raise a UsageError that says what
    to install (``package`` defaults to the module's name, ``extra`` is deepkern's extra)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = package or module.split(".")[0]
        hint = f"pip install {package}" + (f" (or pip install 'deepkern[{extra}]')" if extra else "")
        raise UsageError(flag, f"needs {package}, which is not installed: {hint}") from None


def check_device(device, flag="--device"):
    """'cpu' passes; 'cuda' needs a usable GPU (``deepkern.cuda.is_available()``)."""
    if device == "cuda":
        from .. import cuda
        if not cuda.is_available():
            why = "this deepkern was built without CUDA" if not cuda.is_built() else "no usable CUDA GPU (or CuPy) here"
            raise UsageError(flag, f"cuda requested but {why}; use --device cpu")
    elif device != "cpu":
        raise UsageError(flag, f"expected 'cpu' or 'cuda', got {device!r}")
    return device


def output_path(path, flag):
    """An output file's path, with its directory created; a UsageError when it cannot be."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UsageError(flag, f"{path} is a directory (give a file name)")
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UsageError(flag, f"cannot create the directory of {path}: a file is in the way") from None
    except OSError as e:
        raise UsageError(flag, f"cannot create the directory of {path}: {e.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise UsageError(flag, f"cannot write into {parent} (permission denied)")
    return path


# ---- the parser --------------------------------------------------------------------------------

def _commands():
    from . import commands
    return [(name, commands.load(name)) for name in commands.available()]


def command_listing(commands=None):
    """(synopsis, one-line help) of every command, as ``deepkern --help`` lists them (and the
    README's command table must)."""
    rows = []
    for name, module in commands or _commands():
        if hasattr(module, "listing"):
            rows += [(f"deepkern {synopsis}", text) for synopsis, text in module.listing()]
        else:
            usage = getattr(module, "USAGE", "")
            rows.append((f"deepkern {name}" + (f" {usage}" if usage else ""), module.HELP))
    return rows


def _listing_text(rows):
    width = max(len(s) for s, _ in rows) + 2
    return "\n".join(f"  {s:{width}s}{t}" for s, t in rows)


def build_parser() -> Parser:
    from .. import __version__

    commands = _commands()
    parser = Parser(
        prog="deepkern", usage="deepkern [-h] [--version] COMMAND ...",
        description="deepkern: hand-written C++/CUDA deep-learning kernels, autograd, layers and the models "
                    "of a deep-learning course.\n\ncommands:\n" + _listing_text(command_listing(commands)),
        epilog="Run 'deepkern COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"deepkern {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS,
                               prog="deepkern")
    for name, module in commands:
        p = sub.add_parser(name, description=getattr(module, "DESCRIPTION", None) or module.__doc__,
                           usage=None)
        module.add_arguments(p)
        p.set_defaults(run=module.run, _prog=p.prog)
    return parser


def main(argv=None) -> int:
    """Run the ``deepkern`` command with ``argv`` (default: the process's); returns the exit
    code: 0 done, 2 a usage mistake (one line on stderr), 130 interrupted."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    prog = "deepkern"
    try:
        args, extra = parser.parse_known_args(argv)
        prog = args._prog
        if extra:
            raise UsageError(f"unrecognized arguments: {' '.join(extra)} (see '{prog} --help')")
        args._argv = argv
        return int(args.run(args) or 0)
    except UsageError as e:
        print(f"{e.prog or prog}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
