"""deepkern.train: the training loop and the ``deepkern train TASK`` command's tasks.

    from deepkern.train import fit, evaluate, EarlyStopping, Checkpoint
    history = fit(model, F.cross_entropy, opt, train_loader, val_loader, epochs=10,
                  callbacks=[EarlyStopping("val_accuracy", patience=3), Checkpoint("run.dk")])
    history.plot("curves.png")
"""
from .callbacks import Callback, Checkpoint, EarlyStopping, History
from .loop import METRICS, FitState, accuracy, evaluate, fit, train_epoch
from .task import Task, UsageError

__all__ = ["fit", "train_epoch", "evaluate", "accuracy", "METRICS", "FitState", "Callback", "History", "EarlyStopping",
           "Checkpoint", "Task", "UsageError"]
