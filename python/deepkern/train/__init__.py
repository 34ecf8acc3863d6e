"""deepkern.train: training loops and the ``deepkern train TASK`` command's tasks."""
