"""RMSprop (Hinton's), optionally centered and with momentum."""
from __future__ import annotations

from .. import _checks, ops
from .._backend import array_module
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """PyTorch's RMSprop: g' = g + weight_decay p; s = alpha s + (1 - alpha) g'^2;
    r = sqrt(s - mean_g^2) (centered) or sqrt(s), then + eps (outside the square root);
    buf = momentum buf + g' / r and p -= lr buf (momentum > 0), else p -= lr g' / r.
    One fused kernel per parameter (deepkern.ops.rmsprop_step)."""

    def __init__(self, params, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def _check_options(self, group):
        super()._check_options(group)
        _checks.real("RMSprop", "alpha", group["alpha"], low=0.0, high=1.0)
        _checks.real("RMSprop", "eps", group["eps"], low=0.0)
        _checks.real("RMSprop", "weight_decay", group["weight_decay"], low=0.0)
        _checks.real("RMSprop", "momentum", group["momentum"], low=0.0)

    def _update(self, group):
        for p in group["params"]:
            if p.grad is None:
                continue
            g = self._grad(p)
            state = self.state.setdefault(p, {})
            if not state:
                xp = array_module(p.data)
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(p.data)
                if group["momentum"] > 0:
                    state["momentum_buffer"] = xp.zeros_like(p.data)
                if group["centered"]:
                    state["grad_avg"] = xp.zeros_like(p.data)
            state["step"] += 1
            ops.rmsprop_step(p.data, g, state["square_avg"], state.get("grad_avg") if group["centered"] else None,
                             state.get("momentum_buffer") if group["momentum"] > 0 else None, lr=group["lr"],
                             alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                             momentum=group["momentum"], centered=group["centered"])
