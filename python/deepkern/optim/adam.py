"""Adam and AdamW (with bias correction and optional AMSGrad)."""
from __future__ import annotations

from .. import _checks, ops
from .._backend import array_module
from .optimizer import Optimizer


class Adam(Optimizer):
    """PyTorch's Adam: g' = g + weight_decay p (L2 added to the gradient);
    m = beta1 m + (1 - beta1) g', v = beta2 v + (1 - beta2) g'^2 (v -> running max under
    amsgrad); p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    One fused kernel per parameter (deepkern.ops.adam_step)."""

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))

    def _check_options(self, group):
        super()._check_options(group)
        name = type(self).__name__
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, b in enumerate(betas):
            _checks.real(name, f"betas[{i}]", b, low=0.0, high=1.0)
            if b == 1.0:
                raise ValueError(f"{name}: betas[{i}] must be < 1, got {b}")
        _checks.real(name, "eps", group["eps"], low=0.0)
        _checks.real(name, "weight_decay", group["weight_decay"], low=0.0)

    def _update(self, group):
        beta1, beta2 = group["betas"]
        for p in group["params"]:
            if p.grad is None:
                continue
            g = self._grad(p)
            state = self.state.setdefault(p, {})
            if not state:
                xp = array_module(p.data)
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(p.data)
                state["exp_avg_sq"] = xp.zeros_like(p.data)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = xp.zeros_like(p.data)
            state["step"] += 1
            ops.adam_step(p.data, g, state["exp_avg"], state["exp_avg_sq"],
                          state.get("max_exp_avg_sq") if group["amsgrad"] else None, step=state["step"],
                          lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                          weight_decay=group["weight_decay"], amsgrad=group["amsgrad"],
                          decoupled_weight_decay=self._decoupled)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr weight_decay before
    the Adam step, instead of adding weight_decay p to the gradient. Default weight_decay 1e-2,
    as PyTorch."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
