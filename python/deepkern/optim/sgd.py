"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from .. import _checks, ops
from .._backend import array_module
from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD: with g' = g + weight_decay p,
    buf = g' on the first step, then momentum buf + (1 - dampening) g';
    update = g' + momentum buf (nesterov) or buf (or g' without momentum); p -= lr update.
    One fused kernel per parameter (deepkern.ops.sgd_step)."""

    def __init__(self, params, lr: float, momentum: float = 0.0, dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def _check_options(self, group):
        super()._check_options(group)
        _checks.real("SGD", "momentum", group["momentum"], low=0.0)
        _checks.real("SGD", "dampening", group["dampening"])
        _checks.real("SGD", "weight_decay", group["weight_decay"], low=0.0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires a momentum > 0 and zero dampening, got "
                             f"momentum={group['momentum']}, dampening={group['dampening']}")

    def _update(self, group):
        momentum = group["momentum"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = self._grad(p)
            state = self.state.setdefault(p, {})
            first = momentum != 0 and "momentum_buffer" not in state
            if first:
                state["momentum_buffer"] = array_module(p.data).empty_like(p.data)
            ops.sgd_step(p.data, g, state.get("momentum_buffer") if momentum != 0 else None, lr=group["lr"],
                         momentum=momentum, dampening=group["dampening"], nesterov=group["nesterov"],
                         weight_decay=group["weight_decay"], first_step=first)
