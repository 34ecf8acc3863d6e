"""nn.utils: gradient clipping (against PyTorch and by hand) and the L2 penalty."""
import math

import numpy as np
import pytest

import deepkern as dk
from deepkern import nn
from deepkern.nn.utils import clip_grad_norm_, clip_grad_value_, l2_penalty
from tests.helpers import gradcheck


def _params_with_grads(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    ps = [nn.Parameter(np.zeros(s)) for s in [(3, 2), (4,), ()]]
    for p in ps:
        p.grad = np.asarray(rng.standard_normal(p.shape) * scale)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_equals_pytorch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ours = _params_with_grads(scale=3.0)
    theirs = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in ours]
    for t, p in zip(theirs, ours):
        t.grad = torch.from_numpy(p.grad.numpy().copy())
    total = clip_grad_norm_(ours, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert float(total) == pytest.approx(float(t_total), rel=1e-13)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_clip_grad_norm_closed_form():
    p = nn.Parameter(np.zeros(2))
    p.grad = np.array([3.0, 4.0])
    q = nn.Parameter(np.zeros(1))           # no gradient: ignored
    total = clip_grad_norm_([p, q], max_norm=1.0)
    assert float(total) == 5.0 and total.item() == 5.0
    np.testing.assert_allclose(p.grad, [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-15)
    p.grad = np.array([0.3, 0.4])
    clip_grad_norm_(p, max_norm=1.0)        # a single Tensor works; below max_norm: unchanged
    np.testing.assert_allclose(p.grad, [0.3, 0.4], rtol=1e-15)
    assert float(clip_grad_norm_([q], 1.0)) == 0.0
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type must be > 0 or inf, got -1.0"):
        clip_grad_norm_([p], 1.0, norm_type=-1)
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[0\] must be a Tensor/Parameter, got ndarray"):
        clip_grad_norm_([np.zeros(2)], 1.0)


def test_clip_grad_value():
    ps = _params_with_grads(scale=3.0)
    before = [p.grad.numpy().copy() for p in ps]
    clip_grad_value_(ps, 1.5)
    for p, b in zip(ps, before):
        np.testing.assert_array_equal(p.grad, np.clip(b, -1.5, 1.5))
    with pytest.raises(ValueError, match=r"clip_grad_value_: clip_value must be in \[0.0, None\], got -1.0"):
        clip_grad_value_(ps, -1)


def test_l2_penalty_value_and_gradient():
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((3, 2)), rng.standard_normal(4)
    ps = [nn.Parameter(w1.copy()), nn.Parameter(w2.copy())]
    loss = l2_penalty(ps, 0.25)
    assert loss.item() == pytest.approx(0.25 * (np.sum(w1 ** 2) + np.sum(w2 ** 2)), rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(ps[0].grad, 0.5 * w1, rtol=1e-15)
    gradcheck(lambda a, b: l2_penalty([a, b], 0.3), w1, w2)
    with pytest.raises(ValueError, match="l2_penalty: parameters is empty"):
        l2_penalty([], 1.0)


def test_l2_penalty_equals_sgd_weight_decay():
    w = np.random.default_rng(1).standard_normal(5)
    a, b = nn.Parameter(w.copy()), nn.Parameter(w.copy())
    l2_penalty([a], 0.05).backward()
    dk.optim.SGD([a], lr=0.1).step()
    b.grad = np.zeros(5)
    dk.optim.SGD([b], lr=0.1, weight_decay=0.1).step()
    np.testing.assert_allclose(a.data, b.data, rtol=1e-15)
