"""Optimizers: PyTorch's trajectories on identical gradients, closed-form first steps, the
Optimizer API (groups, zero_grad, closure, state_dict) and errors."""
import math

import numpy as np
import pytest

import deepkern as dk
from deepkern import nn, optim
from tests.helpers import DEVICES, to_host, xp_for

SHAPES = [(3, 4), (5,), ()]


def _params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def _grads(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[np.asarray(rng.standard_normal(s) * 2) for s in SHAPES] for _ in range(steps)]


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
]


@pytest.mark.parametrize("name, opts", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_trajectory_equals_pytorch(name, opts):
    torch = pytest.importorskip("torch")
    ours = _params()
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    o_opt = getattr(optim, name)(ours, **opts)
    t_opt = getattr(torch.optim, name)(theirs, **opts)
    for grads in _grads(6):
        for p, t, g in zip(ours, theirs, grads):
            p.grad = g.copy()
            t.grad = torch.from_numpy(g.copy())
        o_opt.step()
        t_opt.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-13, atol=1e-15)


def test_float32_trajectory_equals_pytorch():
    torch = pytest.importorskip("torch")
    ours = _params(dtype=np.float32)
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in ours]
    o_opt, t_opt = optim.Adam(ours, lr=0.01), torch.optim.Adam(theirs, lr=0.01)
    for grads in _grads(6):
        for p, t, g in zip(ours, theirs, grads):
            p.grad = g.astype(np.float32)
            t.grad = torch.from_numpy(g.astype(np.float32))
        o_opt.step()
        t_opt.step()
    for p, t in zip(ours, theirs):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-5, atol=1e-6)


def _one(value, grad):
    p = nn.Parameter(np.array(value, dtype=np.float64))
    p.grad = np.array(grad, dtype=np.float64)
    return p


def test_sgd_closed_form():
    p = _one([1.0, -2.0], [0.5, 1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    opt.step()                                  # first step: buf = g (raw gradient, no dampening)
    np.testing.assert_allclose(p.data, [1 - 0.05, -2 - 0.1], rtol=1e-15)
    p.grad = np.array([1.0, 1.0])
    opt.step()                                  # buf = 0.9 g1 + 0.5 g2
    np.testing.assert_allclose(p.data, [0.95 - 0.1 * (0.45 + 0.5), -2.1 - 0.1 * (0.9 + 0.5)], rtol=1e-15)
    q = _one([2.0], [1.0])
    optim.SGD([q], lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.5).step()
    d = 1.0 + 0.5 * 2.0                         # g + wd p
    np.testing.assert_allclose(q.data, [2.0 - 0.1 * (d + 0.5 * d)], rtol=1e-15)


def test_adam_and_adamw_closed_form():
    g = np.array([0.3, -4.0])
    p = _one([1.0, 1.0], g)
    optim.Adam([p], lr=0.1, eps=1e-8).step()
    # Step 1: m_hat = g, v_hat = g^2, so the update is lr * g / (|g| + eps).
    np.testing.assert_allclose(p.data, 1.0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-14)
    p = _one([2.0], [0.0])
    optim.Adam([p], lr=0.1, weight_decay=0.5).step()   # L2: g' = 0 + 0.5 * 2 = 1
    np.testing.assert_allclose(p.data, [2.0 - 0.1 * 1.0 / (1.0 + 1e-8)], rtol=1e-14)
    p = _one([2.0], [1.0])
    optim.AdamW([p], lr=0.1, weight_decay=0.5).step()  # decoupled: p *= 1 - lr wd, then Adam
    np.testing.assert_allclose(p.data, [2.0 * (1 - 0.05) - 0.1 / (1 + 1e-8)], rtol=1e-14)


def test_rmsprop_closed_form():
    g = np.array([0.5, -2.0])
    p = _one([0.0, 0.0], g)
    optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-3).step()
    # s = (1 - alpha) g^2; eps is added outside the square root.
    np.testing.assert_allclose(p.data, -0.01 * g / (np.sqrt(0.1) * np.abs(g) + 1e-3), rtol=1e-14)
    p = _one([0.0, 0.0], g)
    optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-3, centered=True).step()
    # centered: s - mean_g^2 = 0.1 g^2 - 0.01 g^2
    np.testing.assert_allclose(p.data, -0.01 * g / (np.sqrt(0.09) * np.abs(g) + 1e-3), rtol=1e-14)


def test_param_groups_have_their_own_options():
    a, b = _one([1.0], [1.0]), _one([1.0], [1.0])
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.5])
    c = _one([1.0], [1.0])
    opt.add_param_group({"params": c, "momentum": 0.9})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.9
    assert "Parameter Group 2" in repr(opt)


def test_zero_grad_step_closure_and_missing_grads():
    a, b = _one([1.0, 2.0], [1.0, 1.0]), nn.Parameter(np.array([5.0]))
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()                                   # b has no gradient: untouched, no state
    assert b.data[0] == 5.0 and b not in opt.state and opt.state[a]["step"] == 1
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    with dk.no_grad():
        loss = opt.step(closure)                 # the closure runs with gradients enabled
    assert loss.item() == pytest.approx(float(np.sum((a.data + 0.0) ** 2)), rel=0.2)
    assert opt.state[a]["step"] == 2


def test_state_dict_resume_equals_uninterrupted():
    grads = _grads(6)

    def run(opt_factory, params, steps):
        opt = opt_factory(params)
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = g.copy()
            opt.step()
        return opt

    for factory in (lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
                    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True)):
        straight = _params()
        run(factory, straight, grads)
        first = _params()
        saved = run(factory, first, grads[:3]).state_dict()
        resumed = [nn.Parameter(p.data.copy()) for p in first]
        opt = factory(resumed)
        opt.load_state_dict(saved)
        for gs in grads[3:]:
            for p, g in zip(resumed, gs):
                p.grad = g.copy()
            opt.step()
        for s, r in zip(straight, resumed):
            np.testing.assert_array_equal(s.data, r.data)


def test_state_dict_layout_and_load_errors():
    params = _params()
    opt = optim.Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.5}])
    for p in params:
        p.grad = np.ones(p.shape)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sorted(sd["state"]) == [0, 1, 2]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    other = optim.Adam([{"params": params[:2]}, {"params": params[2:]}])
    other.load_state_dict({"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]})
    assert other.param_groups[1]["lr"] == 0.5 and other.state[params[0]]["step"] == 1
    assert other.state[params[0]]["exp_avg"] is not sd["state"][0]["exp_avg"]
    with pytest.raises(ValueError, match="the state has 2 param groups, the optimizer 1"):
        optim.Adam(params).load_state_dict(sd)
    with pytest.raises(ValueError, match="param group 0 has 2 parameters in the state but 1 in the optimizer"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(sd)
    bad = {"state": {0: {"exp_avg": np.zeros(7), "exp_avg_sq": np.zeros(7), "step": 1}},
           "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match=r"state\[0\]\['exp_avg'\] has shape \(7,\) but its parameter has shape \(3, 4\)"):
        other.load_state_dict(bad)


def test_constructor_errors():
    p = _params()
    with pytest.raises(ValueError, match="SGD got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="got a single Tensor"):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(TypeError, match=r"can only optimize Tensors, but params\[1\] is ndarray"):
        optim.SGD([p[0], np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": p}, {"params": p[:1]}], lr=0.1)
    with pytest.raises(ValueError, match="nesterov momentum requires a momentum > 0 and zero dampening"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be < 1, got 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"SGD: lr must be in \[0.0, None\], got -1.0"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match=r"unknown options \['momentum'\]"):
        optim.Adam([{"params": p, "momentum": 0.9}])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p[0] * 2.0], lr=0.1)
    q = _one([1.0], [1.0])
    q.grad = np.ones(1, np.float32)
    with pytest.raises(TypeError, match="a gradient is float32 on cpu but its parameter is float64 on cpu"):
        optim.SGD([q], lr=0.1).step()


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.05), lambda ps: optim.RMSprop(ps, lr=0.05)])
def test_training_a_regression_reduces_the_loss(make):
    dk.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = (x @ np.array([[1.5], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    model = nn.Linear(3, 1)
    opt = make(list(model.parameters()))
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ((model(dk.Tensor(x)) - dk.Tensor(y)) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0] and not math.isnan(losses[-1])


@pytest.mark.parametrize("device", [d for d in DEVICES if d.id == "cuda"])
@pytest.mark.parametrize("name, opts", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_cuda_trajectory_equals_cpu(device, name, opts):
    xp = xp_for(device)
    cpu = _params()
    gpu = [nn.Parameter(xp.asarray(p.data)) for p in cpu]
    o_cpu, o_gpu = getattr(optim, name)(cpu, **opts), getattr(optim, name)(gpu, **opts)
    for grads in _grads(4):
        for c, g, gr in zip(cpu, gpu, grads):
            c.grad = gr.copy()
            g.grad = xp.asarray(gr)
        o_cpu.step()
        o_gpu.step()
    for c, g in zip(cpu, gpu):
        np.testing.assert_allclose(to_host(g.data), c.data, rtol=1e-12, atol=1e-14)
