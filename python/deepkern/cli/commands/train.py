"""Train a model of the course: ``deepkern train TASK [options]``.

Every task takes the same core options (--epochs --batch-size --lr --device --seed --data-dir
--checkpoint --resume --plot --quiet --threads) with its own defaults, and its own options on
top: ``deepkern train TASK --help`` lists them. The training state is saved to --checkpoint
after every epoch; --resume continues from it; Ctrl-C stops and keeps the last checkpoint."""
import argparse
import sys

HELP = "train a model of the course"
USAGE = "TASK"


def _tasks():
    from ...train import tasks
    return [(name, tasks.load(name)) for name in tasks.available()]


def listing():
    return [(f"train {name}", task.help) for name, task in _tasks()]


def add_arguments(parser):
    from ...train.task import add_arguments as add_task_arguments

    parser.usage = "%(prog)s [-h] TASK [options]"
    rows = listing()
    width = max(len(s) for s, _ in rows) + 2
    parser.description = (__doc__ + "\n\ntasks:\n" +
                          "\n".join(f"  deepkern {s:{width}s}{t}" for s, t in rows))
    sub = parser.add_subparsers(dest="task", metavar="TASK", required=True, help=argparse.SUPPRESS,
                                prog=parser.prog)
    for name, task in _tasks():
        tp = sub.add_parser(name, description=sys.modules[task.__module__].__doc__)
        add_task_arguments(tp, task)
        tp.set_defaults(run=_runner(task, tp), _prog=tp.prog)


def _runner(task, parser):
    def run_task(args):
        from ...train.task import explicit_flags, run
        argv = getattr(args, "_argv", None)
        explicit = explicit_flags(parser, argv[2:]) if argv else frozenset()
        return run(task, args, explicit)
    return run_task


def run(args) -> int:  # never called: each task's parser sets its own runner
    raise AssertionError("deepkern train: no task")
