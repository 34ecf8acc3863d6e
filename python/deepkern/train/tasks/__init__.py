"""Tasks of the ``deepkern train`` command, one module each (``lenet.py`` -> ``deepkern train
lenet``), found automatically: no central list to edit. A task module defines one subclass of
``deepkern.train.task.Task`` (see that module for the contract and a complete example in
docs/DEVELOPING.md, "Adding a train task"). Modules starting with ``_`` hold shared code.
"""
import importlib
import inspect
import pkgutil


def available():
    """Task names, from the modules in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name):
    """The Task subclass defined in module ``name`` (its ``name`` attribute set to it)."""
    from ..task import Task

    module = importlib.import_module(f"{__name__}.{name}")
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, Task) and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise TypeError(f"deepkern.train.tasks.{name} must define exactly one Task subclass, found "
                        f"{[c.__name__ for c in found]}")
    task = found[0]
    task.name = name
    return task
