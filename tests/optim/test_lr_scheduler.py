"""Learning-rate schedules: closed-form values, PyTorch's values, state_dict, plateau logic."""
import math

import numpy as np
import pytest

from deepkern import nn, optim
from deepkern.optim import lr_scheduler as sched


def _opt(lr=0.1, groups=1):
    ps = [nn.Parameter(np.zeros(2)) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(ps)], lr=lr)


def _lrs(scheduler, epochs):
    out = [scheduler.get_last_lr()[0]]
    for _ in range(epochs):
        scheduler.optimizer.step()
        scheduler.step()
        out.append(scheduler.get_last_lr()[0])
    return out


CASES = {
    "StepLR": (lambda o: sched.StepLR(o, step_size=3, gamma=0.5), lambda e: 0.1 * 0.5 ** (e // 3)),
    "MultiStepLR": (lambda o: sched.MultiStepLR(o, milestones=[5, 2], gamma=0.1),
                    lambda e: 0.1 * 0.1 ** ((e >= 2) + (e >= 5))),
    "ExponentialLR": (lambda o: sched.ExponentialLR(o, gamma=0.9), lambda e: 0.1 * 0.9 ** e),
    "InverseTimeDecay": (lambda o: sched.InverseTimeDecay(o, decay_rate=0.5), lambda e: 0.1 / (1 + 0.5 * e)),
    "CosineAnnealingLR": (lambda o: sched.CosineAnnealingLR(o, T_max=4, eta_min=0.01),
                          lambda e: 0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2),
}


@pytest.mark.parametrize("name", CASES)
def test_closed_form_values_and_optimizer_lr(name):
    make, formula = CASES[name]
    s = make(_opt())
    got = _lrs(s, 8)
    np.testing.assert_allclose(got, [formula(e) for e in range(9)], rtol=1e-12)
    assert s.optimizer.param_groups[0]["lr"] == got[-1] and s.last_epoch == 8


@pytest.mark.parametrize("name", [n for n in CASES if n != "InverseTimeDecay"])
def test_values_equal_pytorch(name):
    torch = pytest.importorskip("torch")
    make, _ = CASES[name]
    t_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    args = {"StepLR": dict(step_size=3, gamma=0.5), "MultiStepLR": dict(milestones=[5, 2], gamma=0.1),
            "ExponentialLR": dict(gamma=0.9), "CosineAnnealingLR": dict(T_max=4, eta_min=0.01)}[name]
    t_s = getattr(torch.optim.lr_scheduler, name)(t_opt, **args)
    theirs = [t_s.get_last_lr()[0]]
    for _ in range(8):
        t_opt.step()
        t_s.step()
        theirs.append(t_s.get_last_lr()[0])
    np.testing.assert_allclose(_lrs(make(_opt()), 8), theirs, rtol=1e-12)


def test_each_group_scales_its_own_initial_lr_and_state_dict_resumes():
    opt = _opt(groups=2)
    s = sched.StepLR(opt, step_size=1, gamma=0.5)
    s.step()
    assert s.get_last_lr() == [0.05, 0.1]
    state = s.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 1
    fresh = sched.StepLR(_opt(groups=2), step_size=1, gamma=0.5)
    fresh.load_state_dict(state)
    fresh.step()
    s.step()
    assert fresh.get_last_lr() == s.get_last_lr() == [0.025, 0.05]


def test_reduce_on_plateau_equals_pytorch():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    for kw in (dict(patience=1, factor=0.5, cooldown=1), dict(mode="max", patience=0, threshold_mode="abs",
                                                              threshold=0.01, min_lr=0.02)):
        ours = sched.ReduceLROnPlateau(_opt(), **kw)
        t_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kw)
        for m in metrics:
            ours.step(m)
            theirs.step(m)
            assert ours.get_last_lr()[0] == pytest.approx(t_opt.param_groups[0]["lr"], rel=1e-12)


def test_reduce_on_plateau_closed_form():
    s = sched.ReduceLROnPlateau(_opt(), patience=2, factor=0.1)
    for m in [5, 4, 4, 4]:        # improvement, then 2 bad epochs: not yet more than patience
        s.step(m)
    assert s.get_last_lr() == [0.1]
    s.step(4)                     # third bad epoch: reduce
    assert s.get_last_lr() == [pytest.approx(0.01)]
    assert s.state_dict()["num_bad_epochs"] == 0


def test_errors():
    with pytest.raises(TypeError, match="StepLR: optimizer must be a deepkern Optimizer, got str"):
        sched.StepLR("sgd", step_size=1)
    with pytest.raises(ValueError, match="StepLR: step_size must be >= 1, got 0"):
        sched.StepLR(_opt(), step_size=0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max', got 'up'"):
        sched.ReduceLROnPlateau(_opt(), mode="up")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be < 1, got 1.0"):
        sched.ReduceLROnPlateau(_opt(), factor=1.0)
    with pytest.raises(ValueError, match="expected 2 min_lr values"):
        sched.ReduceLROnPlateau(_opt(groups=2), min_lr=[0.1])
