"""Tasks of the ``deepkern train`` command, one module each (``lenet.py`` -> ``deepkern train
lenet``). A task module defines:

    HELP = "one line for --help"
    def add_arguments(parser): ...      # argparse options of this task
    def run(args) -> int: ...           # train, report, return an exit code
"""
import importlib
import pkgutil


def available():
    """Task names, from the modules in this package (no central list to edit)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name):
    return importlib.import_module(f"{__name__}.{name}")
