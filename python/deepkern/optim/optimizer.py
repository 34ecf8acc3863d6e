"""Optimizer base: parameter groups with per-group options, state, zero_grad, step(closure),
and state_dict()/load_state_dict() in PyTorch's layout:

    {"state": {index: {name: array or number}}, "param_groups": [{option: value, "params": [index, ...]}]}

where parameters are numbered across groups in order, so a saved state maps back onto a freshly
built model's parameters (and can be written with dk.save).
"""
from __future__ import annotations

import copy

from .. import _checks
from .._backend import array_module, is_array
from .._device import device_of, to_device
from ..autograd import Tensor, enable_grad

__all__ = ["Optimizer"]


class Optimizer:
    """Subclasses pass their default options and implement ``_update(group)``, which applies one
    step to every parameter of ``group`` that has a gradient."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state = {}          # Parameter -> {name: array or number}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                            "got a single Tensor (wrap it in a list)")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, group: dict) -> None:
        """Add a group ``{"params": [...], option: value, ...}``; options it omits take the
        optimizer's defaults."""
        name = type(self).__name__
        if not isinstance(group, dict):
            raise TypeError(f"{name}: a param group must be a dict, got {type(group).__name__}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, but params[{i}] is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (params[{i}], shape {p.shape})")
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise ValueError(f"{name}: unknown options {sorted(unknown)} in a param group "
                             f"(known: {sorted(self.defaults)})")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group (or twice in one)")
        full = {**self.defaults, **group, "params": params}
        self._check_options(full)
        self.param_groups.append(full)

    def _check_options(self, group: dict) -> None:
        """Validate a group's options (subclasses extend)."""
        _checks.real(type(self).__name__, "lr", group["lr"], low=0.0)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (default, as PyTorch) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (re-evaluates the model
        and returns the loss, with gradients enabled) is called first; its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._update(group)
        return loss

    def _update(self, group: dict) -> None:
        raise NotImplementedError

    def _grad(self, p):
        """p's gradient, checked against p (same device, shape and dtype)."""
        g = p.grad.data
        if array_module(g) is not array_module(p.data) or g.dtype != p.dtype:
            raise TypeError(f"{type(self).__name__}: a gradient is {g.dtype} on {device_of(g)} but its parameter "
                            f"is {p.dtype} on {device_of(p.data)}")
        return g

    # ---- state -------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}`` (arrays are references, not copies)."""
        index = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in g["params"]]
            groups.append(packed)
        params = {id(p): p for g in self.param_groups for p in g["params"]}
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in params}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state saved by ``state_dict()`` (for the same parameters in the same
        order). Arrays are copied onto each parameter's device and floating arrays cast to its
        dtype; shapes are validated."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state has {len(groups)} param groups, "
                             f"the optimizer {len(self.param_groups)}")
        by_index = {}
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{name}.load_state_dict: param group {i} has {len(saved['params'])} parameters "
                                 f"in the state but {len(own['params'])} in the optimizer")
            by_index.update(zip(saved["params"], own["params"]))
        new_state = {}
        for key, values in state_dict["state"].items():
            key = int(key)  # JSON-loaded dicts have string keys
            if key not in by_index:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {key}, which no group lists")
            p = by_index[key]
            new_state[p] = {k: self._state_value(p, key, k, v) for k, v in values.items()}
        for saved, own in zip(groups, self.param_groups):
            options = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            self._check_options({**own, **options})
            own.update(options)
        self.state = new_state

    def _state_value(self, p, index, key, value):
        if isinstance(value, Tensor):
            value = value.data
        if hasattr(value, "detach") and hasattr(value, "numpy") and not is_array(value):
            value = value.detach().cpu().numpy()  # a torch tensor
        if key == "step":  # a count (PyTorch keeps it as a 0-d tensor)
            return int(value.item() if hasattr(value, "item") else value)
        if not is_array(value):
            raise TypeError(f"{type(self).__name__}.load_state_dict: state[{index}][{key!r}] must be an array, "
                            f"got {type(value).__name__}")
        if tuple(value.shape) != p.shape:
            raise ValueError(f"{type(self).__name__}.load_state_dict: state[{index}][{key!r}] has shape "
                             f"{tuple(value.shape)} but its parameter has shape {p.shape}")
        value = to_device(value, device_of(p.data))
        dtype = p.dtype if value.dtype.kind == "f" else value.dtype
        return array_module(value).array(value, dtype=dtype, order="C", copy=True)
