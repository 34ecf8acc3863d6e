"""Top-level commands of ``deepkern``, one module each (``detect.py`` -> ``deepkern detect``),
found automatically (modules starting with ``_`` are not commands). A command module defines:

    HELP = "one line: what the command does"     # listed by `deepkern --help` and in README
    USAGE = "IMAGE --checkpoint CKPT"            # optional: its synopsis in that listing
    def add_arguments(parser): ...               # argparse options (types from deepkern.cli)
    def run(args) -> int: ...                    # do it; raise deepkern.cli.UsageError for
                                                 # user mistakes (one line, exit code 2)

and optionally ``listing()`` -> [(synopsis, help), ...] when it shows several lines there
(``train`` lists its tasks). The module docstring is the command's ``--help`` description.
README's command table must match ``deepkern --help`` (tests/test_cli.py checks it).
"""
import importlib
import pkgutil


def available():
    """Command names, from the modules in this package (no central list to edit)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name):
    return importlib.import_module(f"{__name__}.{name}")
