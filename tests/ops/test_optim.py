"""Fused optimizer kernels against the NumPy reference (PyTorch's single-tensor formulas)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import deepkern as dk
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, to_host, xp_for

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)
STATE = {"sgd": ["momentum_buffer"], "adam": ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
         "rmsprop": ["square_avg", "grad_avg", "momentum_buffer"]}


def _options(kind, draw):
    if kind == "sgd":
        momentum = draw(st.sampled_from([0.0, 0.9]))
        nesterov = momentum > 0 and draw(st.booleans())
        return dict(lr=0.1, momentum=momentum, dampening=0.0 if nesterov else draw(st.sampled_from([0.0, 0.3])),
                    nesterov=nesterov, weight_decay=draw(st.sampled_from([0.0, 0.01])),
                    first_step=momentum > 0 and draw(st.booleans()))
    if kind == "adam":
        return dict(step=draw(st.integers(1, 50)), lr=1e-2, beta1=draw(st.sampled_from([0.9, 0.3])), beta2=0.999,
                    eps=1e-8, weight_decay=draw(st.sampled_from([0.0, 0.1])), amsgrad=draw(st.booleans()),
                    decoupled_weight_decay=draw(st.booleans()))
    return dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=draw(st.sampled_from([0.0, 0.1])),
                momentum=draw(st.sampled_from([0.0, 0.5])), centered=draw(st.booleans()))


def _used(kind, name, opts):
    """Whether an optional state array takes part under these options."""
    return {"momentum_buffer": opts.get("momentum", 0) != 0, "max_exp_avg_sq": opts.get("amsgrad", False),
            "grad_avg": opts.get("centered", False)}.get(name, True)


def _ref_step(kind):
    """The reference step as a function returning the updated (param, *state) copies."""
    fn = getattr(ref, f"{kind}_step")

    def run(param, grad, *state, **opts):
        param = param.copy()
        state = [s.copy() if s is not None else None for s in state]
        fn(param, grad, *state, **opts)
        return (param, *[s for s in state if s is not None])

    return run


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["sgd", "adam", "rmsprop"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), data=st.data())
def test_step_matches_reference(device, kind, dtype, shape, seed, data):
    xp = xp_for(device)
    opts = _options(kind, data.draw)
    rng = np.random.default_rng(seed)
    param = rng.standard_normal(shape).astype(dtype)
    grad = (rng.standard_normal(shape) * 3).astype(dtype)
    first = rng.standard_normal(shape) * 0.5              # running means of g
    second = first ** 2 + np.abs(rng.standard_normal(shape)) + 0.1  # running means of g^2 (>= mean^2)
    state = []
    for name in STATE[kind]:
        if not _used(kind, name, opts):
            state.append(None)
        elif name in ("exp_avg_sq", "square_avg", "max_exp_avg_sq"):
            state.append(second.astype(dtype))
        else:
            state.append(first.astype(dtype))
    dev = [xp.array(a) if a is not None else None for a in (param, grad, *state)]  # copies: updated in place
    getattr(ops, f"{kind}_step")(*dev, **opts)
    ours = tuple(to_host(a) for a in [dev[0], *dev[2:]] if a is not None)
    assert_matches_reference(ours, _ref_step(kind), param, grad, *state, **opts)


def test_non_contiguous_grad_is_accepted_and_param_must_be_contiguous():
    p = np.ones(4)
    g = np.arange(8.0)[::2]
    ops.sgd_step(p, g, lr=0.5)
    np.testing.assert_array_equal(p, 1 - 0.5 * g)
    with pytest.raises(ValueError, match=r"sgd_step: param must be C-contiguous and writable \(it is updated in place\)"):
        ops.sgd_step(np.ones(8)[::2], np.ones(4), lr=0.1)
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="adam_step: exp_avg must be C-contiguous and writable"):
        ops.adam_step(np.ones(3), np.ones(3), ro, np.ones(3), step=1)


def test_errors_name_arguments():
    p = np.ones(3)
    with pytest.raises(ValueError, match=r"adam_step: exp_avg has shape \(2,\) but param has shape \(3,\)"):
        ops.adam_step(p, np.ones(3), np.zeros(2), np.zeros(3), step=1)
    with pytest.raises(TypeError, match="sgd_step: grad is float32 but param is float64"):
        ops.sgd_step(p, np.ones(3, np.float32), lr=0.1)
    with pytest.raises(ValueError, match="adam_step: step must be >= 1, got 0"):
        ops.adam_step(p, np.ones(3), np.zeros(3), np.zeros(3), step=0)
    with pytest.raises(ValueError, match="sgd_step: momentum_buffer is required exactly when momentum != 0"):
        ops.sgd_step(p, np.ones(3), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="adam_step: max_exp_avg_sq must be None exactly when amsgrad"):
        ops.adam_step(p, np.ones(3), np.zeros(3), np.zeros(3), np.zeros(3), step=1)
    with pytest.raises(ValueError, match="rmsprop_step: grad_avg is required exactly when centered"):
        ops.rmsprop_step(p, np.ones(3), np.zeros(3), centered=True)
    with pytest.raises(TypeError, match="sgd_step: lr must be a real number"):
        ops.sgd_step(p, np.ones(3), lr="fast")


def test_cpu_extension_checks_sizes_itself():
    p = np.ones(4)
    with pytest.raises(ValueError, match=r"sgd_step: grad must have shape \(4,\), got \(3,\)"):
        dk._cpu.sgd_step(p, np.ones(3), None, 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match=r"adam_step: exp_avg_sq must have shape \(4,\), got \(5,\)"):
        dk._cpu.adam_step(p, np.ones(4), np.zeros(4), np.zeros(5), None, 0.1, 0.9, 0.999, 1e-8, 0.0, 0.1, 1.0,
                          False, False)
    with pytest.raises(ValueError, match="rmsprop_step: momentum_buffer is required exactly when momentum > 0"):
        dk._cpu.rmsprop_step(p, np.ones(4), np.zeros(4), None, None, 0.1, 0.9, 1e-8, 0.0, 0.5, False)
