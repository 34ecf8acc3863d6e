"""``summary(model, input_shape)``: a table of a model's layers, their output shapes and
parameter counts (what torchinfo / Keras ``model.summary()`` print).

    print(dk.summary(LeNet(), (1, 1, 28, 28)))

One forward pass on zeros of ``input_shape`` (batch included), in eval mode and without
recording gradients, records each leaf layer's output shape in call order; the model's mode
is restored afterwards and nothing is changed (BatchNorm statistics are not updated).
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor, no_grad
from .module import Module

__all__ = ["summary", "ModelSummary"]


class ModelSummary:
    """The table (``str()`` / ``repr()``) and its numbers: ``rows`` [(name, type, output shape,
    parameters)], ``total_params``, ``trainable_params``, ``input_shape``, ``output_shape``."""

    def __init__(self, model, input_shape, rows, output_shape):
        self.model_name = type(model).__name__
        self.input_shape, self.output_shape, self.rows = tuple(input_shape), output_shape, rows
        params = list(model.parameters())
        self.total_params = int(sum(p.numel() for p in params))
        self.trainable_params = int(sum(p.numel() for p in params if p.requires_grad))

    def __str__(self):
        head = ("Layer (type)", "Output Shape", "Param #")
        body = [(f"{'  ' * depth}{name} ({kind})", str(shape), f"{n:,}") for name, kind, shape, n, depth in self.rows]
        w0 = max(len(r[0]) for r in [head] + body)
        w1 = max(len(r[1]) for r in [head] + body)
        w2 = max(len(r[2]) for r in [head] + body)
        rule = "=" * (w0 + w1 + w2 + 4)
        line = "-" * len(rule)

        def fmt(r):
            return f"{r[0]:<{w0}}  {r[1]:<{w1}}  {r[2]:>{w2}}"
        out = [f"{self.model_name}: input {self.input_shape} -> output {self.output_shape}", rule, fmt(head), rule]
        out += [fmt(r) for r in body] + [rule]
        out += [f"Total params: {self.total_params:,}", f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}", line]
        return "\n".join(out)

    __repr__ = __str__


def _shape(out):
    if isinstance(out, Tensor) or hasattr(out, "shape"):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shape(o) for o in out]
    return type(out).__name__


def summary(model, input_shape, dtype=np.float32) -> ModelSummary:
    """Run ``model`` once on zeros of ``input_shape`` (e.g. (1, 3, 224, 224), batch included)
    and tabulate its leaf layers: name (type), output shape, parameter count; with the
    total and trainable parameter counts."""
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a deepkern.nn.Module, got {type(model).__name__}")
    shape = tuple(int(s) for s in input_shape)
    rows, patched = [], []
    for name, m in model.named_modules():
        if not name or next(iter(m.children()), None) is not None:
            continue  # the model itself and containers: their leaves are listed

        def forward(*args, _m=m, _name=name, _orig=m.forward, **kwargs):
            row = [_name, type(_m).__name__, None, int(sum(p.numel() for p in _m.parameters())), _name.count(".")]
            rows.append(row)
            out = _orig(*args, **kwargs)
            row[2] = _shape(out)
            return out
        m.forward = forward  # an instance attribute shadows the class's forward
        patched.append(m)
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            x = Tensor(np.zeros(shape, dtype=dtype))
            if model.device != "cpu":
                x = x.to(model.device)
            out = model(x)
    finally:
        model.train(was_training)
        for m in patched:
            del m.forward
    return ModelSummary(model, shape, [tuple(r) for r in rows], _shape(out))
