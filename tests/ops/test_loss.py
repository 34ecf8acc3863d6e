import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

REDUCTIONS = ["none", "mean", "sum"]


@st.composite
def class_problems(draw, dtype):
    """logits (N, C[, d...]), targets with some ignored rows, optional weights, a reduction."""
    n = draw(st.integers(0, 9))
    c = draw(st.integers(1, 37))
    extra = tuple(draw(st.lists(st.integers(0, 5), max_size=2)))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1.0, 20.0, 1e3]))
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, c) + extra) * scale).astype(dtype)
    target = rng.integers(0, c, (n,) + extra)
    ignore_index = draw(st.sampled_from([-100, 0, c - 1]))
    if draw(st.booleans()):
        target[rng.random(target.shape) < 0.3] = ignore_index
    weight = rng.uniform(0.5, 2.0, c).astype(dtype) if draw(st.booleans()) else None
    reduction = draw(st.sampled_from(REDUCTIONS))
    g = rng.standard_normal(target.shape if reduction == "none" else ()).astype(dtype)
    return logits, target, weight, ignore_index, reduction, g


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_cross_entropy_matches_reference(device, dtype, data):
    xp = xp_for(device)
    logits, target, weight, ignore_index, reduction, g = data.draw(class_problems(dtype))
    w_dev = None if weight is None else xp.asarray(weight)
    out = ops.cross_entropy_forward(xp.asarray(logits), xp.asarray(target), w_dev, ignore_index, reduction)
    assert_matches_reference(out, ref.cross_entropy_forward, logits, target, weight, ignore_index, reduction)
    assert_matches_reference(ops.cross_entropy(xp.asarray(logits), xp.asarray(target), w_dev, ignore_index,
                                               reduction),
                             ref.cross_entropy, logits, target, weight, ignore_index, reduction)
    _, row_max, row_logsum = (to_host(o) for o in out)
    grad = ops.cross_entropy_backward(xp.asarray(g), xp.asarray(logits), xp.asarray(target), xp.asarray(row_max),
                                      xp.asarray(row_logsum), w_dev, ignore_index, reduction)
    assert_matches_reference(grad, ref.cross_entropy_backward, g, logits, target, row_max, row_logsum, weight,
                             ignore_index, reduction)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_nll_loss_matches_reference(device, dtype, data):
    xp = xp_for(device)
    logits, target, weight, ignore_index, reduction, g = data.draw(class_problems(dtype))
    logp = ref.log_softmax(logits, axis=1) if logits.size else logits
    w_dev = None if weight is None else xp.asarray(weight)
    loss = ops.nll_loss(xp.asarray(logp), xp.asarray(target), w_dev, ignore_index, reduction)
    assert_matches_reference(loss, ref.nll_loss, logp, target, weight, ignore_index, reduction)
    grad = ops.nll_loss_backward(xp.asarray(g), xp.asarray(logp), xp.asarray(target), w_dev, ignore_index,
                                 reduction)
    assert_matches_reference(grad, ref.nll_loss_backward, g, logp, target, weight, ignore_index, reduction)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype,magnitude", [(np.float64, 1e4), (np.float32, 80.0)])
def test_cross_entropy_is_stable_for_large_logits(device, dtype, magnitude):
    xp = xp_for(device)
    rng = np.random.default_rng(4)
    logits = (rng.uniform(-1, 1, (6, 40)) * magnitude).astype(dtype)
    target = rng.integers(0, 40, 6)
    logits[np.arange(6), target] = -magnitude  # the worst case: the true class far below the max
    logits[0, :] = magnitude  # ties at the max
    loss, row_max, row_logsum = ops.cross_entropy_forward(xp.asarray(logits), xp.asarray(target),
                                                          reduction="none")
    assert np.all(np.isfinite(to_host(loss)))
    assert_matches_reference(loss, ref.cross_entropy, logits, target, reduction="none")
    g = np.asarray(1.0, dtype)
    grad = ops.cross_entropy_backward(xp.asarray(g), xp.asarray(logits), xp.asarray(target), row_max, row_logsum)
    assert np.all(np.isfinite(to_host(grad)))
    assert_matches_reference(grad, ref.cross_entropy_backward, g, logits, target, to_host(row_max),
                             to_host(row_logsum))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 2)])
def test_cross_entropy_gradcheck_with_weights_and_ignore_index(reduction, shape):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape) * 2
    target = rng.integers(0, 4, (shape[0],) + shape[2:])
    target.reshape(-1)[1] = 7  # ignored
    weight = rng.uniform(0.5, 2.0, 4)
    gradcheck(lambda t: F.cross_entropy(t, target, weight, ignore_index=7, reduction=reduction), x)
    gradcheck(lambda t: F.nll_loss(F.log_softmax(t, axis=1), target, weight, ignore_index=7,
                                   reduction=reduction), x)


# ---- elementwise losses ------------------------------------------------------------------
POINTWISE = {
    "mse": (ops.mse_loss, ref.mse_loss, ops.mse_loss_backward, ref.mse_loss_backward),
    "bce": (ops.binary_cross_entropy, ref.binary_cross_entropy, ops.binary_cross_entropy_backward,
            ref.binary_cross_entropy_backward),
    "bce_logits": (ops.binary_cross_entropy_with_logits, ref.binary_cross_entropy_with_logits,
                   ops.binary_cross_entropy_with_logits_backward, ref.binary_cross_entropy_with_logits_backward),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", POINTWISE)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**31 - 1),
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans(), scale=st.sampled_from([1.0, 30.0]))
def test_pointwise_losses_match_reference(device, name, dtype, shape, seed, reduction, weighted, scale):
    xp = xp_for(device)
    fwd, rfwd, bwd, rbwd = POINTWISE[name]
    rng = np.random.default_rng(seed)
    if name == "bce":
        x = rng.uniform(0, 1, shape).astype(dtype)
        x.reshape(-1)[0] = 0.0  # log(0): clamped at -100
    else:
        x = (rng.standard_normal(shape) * scale).astype(dtype)
    y = (rng.random(shape) < 0.5).astype(dtype) if name != "mse" else rng.standard_normal(shape).astype(dtype)
    g = rng.standard_normal(shape if reduction == "none" else ()).astype(dtype)
    kw = {}
    if weighted and name != "mse":
        kw["weight"] = rng.uniform(0.5, 2, shape[-1:]).astype(dtype)  # broadcast over leading dims
        if name == "bce_logits":
            kw["pos_weight"] = rng.uniform(0.5, 3, shape[-1:]).astype(dtype)
    kw_dev = {k: xp.asarray(v) for k, v in kw.items()}
    loss = fwd(xp.asarray(x), xp.asarray(y), reduction=reduction, **kw_dev)
    assert np.all(np.isfinite(to_host(loss)))
    assert_matches_reference(loss, rfwd, x, y, reduction=reduction, **kw)
    grad = bwd(xp.asarray(g), xp.asarray(x), xp.asarray(y), reduction=reduction, **kw_dev)
    assert_matches_reference(grad, rbwd, g, x, y, reduction=reduction, **kw)


# ---- smooth L1 / Huber: one kernel kind each, a threshold parameter -------------------------------
THRESHOLD_LOSSES = {
    "smooth_l1_loss": ("beta", ops.smooth_l1_loss, ref.smooth_l1_loss, ops.smooth_l1_loss_backward,
                       ref.smooth_l1_loss_backward),
    "huber_loss": ("delta", ops.huber_loss, ref.huber_loss, ops.huber_loss_backward, ref.huber_loss_backward),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", THRESHOLD_LOSSES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=st.lists(st.integers(0, 9), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**31 - 1),
       reduction=st.sampled_from(REDUCTIONS), threshold=st.sampled_from([0.0, 0.25, 1.0, 3.0]),
       scale=st.sampled_from([1.0, 30.0, 1e4]))
def test_smooth_l1_and_huber_match_reference(device, name, dtype, shape, seed, reduction, threshold, scale):
    xp = xp_for(device)
    arg, fwd, rfwd, bwd, rbwd = THRESHOLD_LOSSES[name]
    if name == "huber_loss" and threshold == 0.0:
        threshold = 0.5  # delta must be > 0
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    if x.size:  # a difference exactly at the threshold: the kink
        y.reshape(-1)[0] = x.reshape(-1)[0] - dtype(threshold)
    g = rng.standard_normal(shape if reduction == "none" else ()).astype(dtype)
    kw = {arg: threshold, "reduction": reduction}
    loss = fwd(xp.asarray(x), xp.asarray(y), **kw)
    assert loss.dtype == dtype
    assert_matches_reference(loss, rfwd, x, y, **kw)
    grad = bwd(xp.asarray(g), xp.asarray(x), xp.asarray(y), **kw)
    assert_matches_reference(grad, rbwd, g, x, y, **kw)


@pytest.mark.parametrize("device", DEVICES)
def test_smooth_l1_and_huber_branches_nan_and_inf(device):
    xp = xp_for(device)
    d = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, np.inf, -np.inf, np.nan])
    zero = np.zeros_like(d)
    ones = xp.asarray(np.ones_like(d))
    # beta = 2: quadratic inside (0.25 d^2), |d| - 1 outside; gradient clamp(d / 2, -1, 1)
    loss = to_host(ops.smooth_l1_loss(xp.asarray(d), xp.asarray(zero), beta=2.0, reduction="none"))
    np.testing.assert_array_equal(loss, [2.0, 0.25, 0.0625, 0.0, 0.0625, 0.25, 2.0, np.inf, np.inf, np.nan])
    grad = to_host(ops.smooth_l1_loss_backward(ones, xp.asarray(d), xp.asarray(zero), beta=2.0, reduction="none"))
    np.testing.assert_array_equal(grad, [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.0, -1.0, np.nan])
    # beta = 0: the L1 loss, gradient sign(d) with sign(0) = 0
    loss = to_host(ops.smooth_l1_loss(xp.asarray(d), xp.asarray(zero), beta=0.0, reduction="none"))
    np.testing.assert_array_equal(loss, np.abs(d))
    grad = to_host(ops.smooth_l1_loss_backward(ones, xp.asarray(d), xp.asarray(zero), beta=0.0, reduction="none"))
    np.testing.assert_array_equal(grad, np.sign(d))
    # delta = 2: 0.5 d^2 inside, 2 (|d| - 1) outside; gradient clamp(d, -2, 2)
    loss = to_host(ops.huber_loss(xp.asarray(d), xp.asarray(zero), delta=2.0, reduction="none"))
    np.testing.assert_array_equal(loss, [4.0, 0.5, 0.125, 0.0, 0.125, 0.5, 4.0, np.inf, np.inf, np.nan])
    grad = to_host(ops.huber_loss_backward(ones, xp.asarray(d), xp.asarray(zero), delta=2.0, reduction="none"))
    np.testing.assert_array_equal(grad, [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 2.0, -2.0, np.nan])
    # delta = beta = 1: the two agree (DQN's loss)
    x = np.linspace(-3, 3, 13)
    np.testing.assert_array_equal(to_host(ops.huber_loss(xp.asarray(x), xp.asarray(zero[:1].repeat(13)))),
                                  to_host(ops.smooth_l1_loss(xp.asarray(x), xp.asarray(zero[:1].repeat(13)))))
    # empty input: 'mean' is 0/0 = NaN and 'sum' 0, as PyTorch
    e = xp.asarray(np.zeros((0, 3)))
    assert np.isnan(to_host(ops.huber_loss(e, e))) and to_host(ops.smooth_l1_loss(e, e, reduction="sum")) == 0


def test_smooth_l1_and_huber_gradchecks():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((3, 5)) * 2, rng.standard_normal((3, 5))
    for beta in (0.5, 1.0, 2.5):  # the kinks at |d| = beta are far from these random points
        assert np.abs(np.abs(x - y) - beta).min() > 1e-3
        gradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=beta), x, y)
        gradcheck(lambda a, b: F.huber_loss(a, b, delta=beta, reduction="none"), x, y)
    gradcheck(lambda a, b: F.huber_loss(a, b, reduction="sum"), x, y)


def test_smooth_l1_and_huber_layers_and_non_contiguous_views():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((4, 8))[:, ::2] * 3, rng.standard_normal((8, 4)).T[:, :4]
    assert_matches_reference(ops.huber_loss(x, y, delta=0.7), ref.huber_loss, x, y, delta=0.7)
    t = dk.Tensor(np.ascontiguousarray(x), requires_grad=True)
    loss = dk.nn.SmoothL1Loss(beta=0.5)(t, dk.Tensor(np.ascontiguousarray(y)))
    assert_matches_reference(loss.data, ref.smooth_l1_loss, x, y, beta=0.5)
    loss.backward()
    assert_matches_reference(t.grad, ref.smooth_l1_loss_backward, np.asarray(1.0), x, y, beta=0.5)
    assert repr(dk.nn.HuberLoss(delta=2.0)) == "HuberLoss(reduction='mean', delta=2.0)"
    assert repr(dk.nn.SmoothL1Loss()) == "SmoothL1Loss(reduction='mean', beta=1.0)"


def test_smooth_l1_and_huber_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((6, 7)) * 2, rng.standard_normal((6, 7))
    for reduction in REDUCTIONS:
        for ours, theirs, kw in ((dk.nn.SmoothL1Loss, torch.nn.SmoothL1Loss, {"beta": 0.7}),
                                 (dk.nn.SmoothL1Loss, torch.nn.SmoothL1Loss, {"beta": 0.0}),
                                 (dk.nn.HuberLoss, torch.nn.HuberLoss, {"delta": 1.3})):
            a = dk.Tensor(x.copy(), requires_grad=True)
            loss = ours(reduction=reduction, **kw)(a, dk.Tensor(y))
            ta = torch.tensor(x, requires_grad=True)
            tloss = theirs(reduction=reduction, **kw)(ta, torch.tensor(y))
            np.testing.assert_allclose(loss.data, tloss.detach().numpy(), rtol=1e-12, atol=1e-15)
            g = rng.standard_normal(x.shape) if reduction == "none" else np.asarray(1.0)
            loss.backward(g)
            tloss.backward(torch.tensor(g))
            np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_smooth_l1_and_huber_errors():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"smooth_l1_loss: beta must be >= 0, got -1.0"):
        ops.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(ValueError, match=r"huber_loss: delta must be > 0, got 0.0"):
        ops.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match=r"huber_loss_backward: delta must be > 0, got nan"):
        ops.huber_loss_backward(np.float32(1), x, x, delta=float("nan"))
    with pytest.raises(TypeError, match=r"smooth_l1_loss: beta must be a real number, got str '1'"):
        ops.smooth_l1_loss(x, x, beta="1")
    with pytest.raises(ValueError, match=r"huber_loss: target must have the shape of input \(2, 3\), got \(3,\)"):
        ops.huber_loss(x, x[0])
    with pytest.raises(TypeError, match=r"smooth_l1_loss: .*float32.*float64|smooth_l1_loss: .*float64.*float32"):
        ops.smooth_l1_loss(x, x.astype(np.float64))
    with pytest.raises(ValueError, match=r"smooth_l1_loss: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        ops.smooth_l1_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match=r"HuberLoss: huber_loss: delta must be > 0, got -2.0"):
        dk.nn.HuberLoss(delta=-2)(dk.Tensor(x), dk.Tensor(x))
    with pytest.raises(ValueError, match=r"unknown kind .huberish. \(mse, bce, bce_logits, smooth_l1, huber\)"):
        dk._cpu.pointwise_loss_forward("huberish", x, x, None, None, 1.0, x.copy())


@pytest.mark.parametrize("device", DEVICES)
def test_bce_with_logits_is_stable_at_1e4(device):
    xp = xp_for(device)
    z = np.array([-1e4, -50.0, 0.0, 50.0, 1e4])
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    loss = to_host(ops.binary_cross_entropy_with_logits(xp.asarray(z), xp.asarray(y), reduction="none"))
    assert np.all(np.isfinite(loss))
    assert_matches_reference(loss, ref.binary_cross_entropy_with_logits, z, y, reduction="none")
    grad = to_host(ops.binary_cross_entropy_with_logits_backward(xp.asarray(np.ones(5)), xp.asarray(z),
                                                                 xp.asarray(y), reduction="none"))
    assert_matches_reference(grad, ref.binary_cross_entropy_with_logits_backward, np.ones(5), z, y,
                             reduction="none")


def test_pointwise_gradchecks():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    gradcheck(lambda a, b: F.mse_loss(a, b), x, y)
    gradcheck(lambda a, b: F.mse_loss(a, b, reduction="none"), x, y)
    p = rng.uniform(0.05, 0.95, (3, 4))
    labels = (rng.random((3, 4)) < 0.5).astype(np.float64)
    w = rng.uniform(0.5, 2.0, 4)
    gradcheck(lambda a: F.binary_cross_entropy(a, labels, w), p)
    gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, labels, w, pos_weight=w[::-1].copy(),
                                                           reduction="sum"), x)


def test_errors_name_argument_and_values():
    logits = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"cross_entropy: target contains label 5 outside \[0, 5\) "
                                         r"\(C=5 classes from logits.shape=\(4, 5\), ignore_index=-100\)"):
        ops.cross_entropy(logits, np.array([0, 1, 5, 2]))
    with pytest.raises(ValueError, match=r"target contains label -1 outside \[0, 5\)"):
        ops.cross_entropy(logits, np.array([0, -1, 4, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: logits must be \(C,\) with a 0-d target, \(N, C\) or "
                                         r"\(N, C, d1, ...\), got shape \(5,\)"):
        ops.cross_entropy(np.zeros(5, np.float32), np.array([1]))
    with pytest.raises(ValueError, match=r"cross_entropy: target must have shape \(4,\) to match logits of "
                                         r"shape \(4, 5\), got \(4, 1\)"):
        ops.cross_entropy(logits, np.zeros((4, 1), np.int64))
    with pytest.raises(ValueError, match=r"cross_entropy: target must be integer class ids of shape \(4,\) or class "
                                         r"probabilities of the logits' shape \(4, 5\), got float32 of shape \(4,\)"):
        ops.cross_entropy(logits, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have shape \(5,\) \(one per class\), got \(4,\)"):
        ops.cross_entropy(logits, np.zeros(4, np.int64), weight=np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"cross_entropy: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        ops.cross_entropy(logits, np.zeros(4, np.int64), reduction="avg")
    with pytest.raises(ValueError, match=r"nll_loss: target contains label 9 outside \[0, 5\)"):
        ops.nll_loss(logits, np.array([0, 9, 1, 1]))
    with pytest.raises(ValueError, match=r"mse_loss: target must have the shape of input \(4, 5\), got \(5,\)"):
        ops.mse_loss(logits, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\], "
                                         r"got values in \[-0.5, 0.0\]"):
        ops.binary_cross_entropy(np.array([-0.5, 0.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(3,\) does not broadcast to input's shape \(4, 5\)"):
        ops.binary_cross_entropy_with_logits(logits, logits, pos_weight=np.ones(3, np.float32))
    with pytest.raises(ValueError, match=r"binary_cross_entropy: gradients wrt target are not supported"):
        F.binary_cross_entropy(dk.Tensor(np.full(3, 0.5)), dk.Tensor(np.ones(3), requires_grad=True))


def test_cpu_extension_checks_labels_and_sizes_itself():
    logits = np.zeros((3, 4), np.float32)
    rows = [np.zeros(3, np.float32) for _ in range(3)]
    with pytest.raises(ValueError, match=r"cross_entropy_forward: target contains label 4 outside \[0, 4\)"):
        dk._cpu.cross_entropy_forward(logits, np.array([0, 4, 1]), None, *rows, -100)
    with pytest.raises(ValueError, match=r"cross_entropy_forward: loss must have shape \(3,\), got \(2,\)"):
        dk._cpu.cross_entropy_forward(logits, np.array([0, 1, 1]), None, np.zeros(2, np.float32), *rows[1:], -100)
    with pytest.raises(ValueError, match=r"cross_entropy_forward: weight must have shape \(4,\), got \(3,\)"):
        dk._cpu.cross_entropy_forward(logits, np.array([0, 1, 1]), np.ones(3, np.float32), *rows, -100)
    with pytest.raises(ValueError, match=r"cross_entropy_backward: g must have one element or the shape of target"):
        dk._cpu.cross_entropy_backward(logits, np.array([0, 1, 1]), None, *rows[:2], np.zeros(2, np.float32),
                                       logits.copy(), -100)
    with pytest.raises(ValueError, match=r"pointwise_loss_forward: target must have shape \(3, 4\), got \(3,\)"):
        dk._cpu.pointwise_loss_forward("mse", logits, rows[0], None, None, 0.0, logits.copy())
    with pytest.raises(ValueError, match=r"unknown kind 'l1'"):
        dk._cpu.pointwise_loss_forward("l1", logits, logits, None, None, 0.0, logits.copy())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n_classes", [1, 1024, 1025, 3001])
def test_cross_entropy_many_classes(device, n_classes):
    """Class counts around the CUDA kernels' warp-per-row / block-per-row switch."""
    xp = xp_for(device)
    rng = np.random.default_rng(n_classes)
    logits = (rng.standard_normal((5, n_classes)) * 5).astype(np.float32)
    target = rng.integers(0, n_classes, 5)
    out = ops.cross_entropy_forward(xp.asarray(logits), xp.asarray(target), reduction="none")
    assert_matches_reference(out, ref.cross_entropy_forward, logits, target, reduction="none")
    g = np.asarray(1.0, np.float32)
    grad = ops.cross_entropy_backward(xp.asarray(g), xp.asarray(logits), xp.asarray(target), *out[1:])
    assert_matches_reference(grad, ref.cross_entropy_backward, g, logits, target, to_host(out[1]), to_host(out[2]))


@pytest.mark.cuda
def test_cuda_kernel_turns_bad_labels_into_nan_without_reading_out_of_bounds():
    xp = xp_for("cuda")
    from deepkern._backend import kernels
    logits = xp.zeros((3, 4), dtype=np.float32)
    rows = [xp.empty(3, dtype=np.float32) for _ in range(3)]
    kernels(xp).cross_entropy_forward(logits, xp.asarray(np.array([0, 9, -5])), None, *rows, -100)
    loss = to_host(rows[0])
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isnan(loss[2])


def test_non_contiguous_logits_and_targets():
    rng = np.random.default_rng(12)
    logits = rng.standard_normal((6, 10, 3)).astype(np.float32)[:, ::2, 1:]   # (6, 5, 2) view
    target = rng.integers(0, 5, (6, 4))[:, ::2]                                 # (6, 2) view
    assert_matches_reference(ops.cross_entropy(logits, target, reduction="none"), ref.cross_entropy,
                             np.ascontiguousarray(logits), np.ascontiguousarray(target), reduction="none")
    x, y = rng.standard_normal((4, 6))[:, ::2], rng.standard_normal((6, 4)).T[:, :3]
    assert_matches_reference(ops.mse_loss(x, y), ref.mse_loss, x, y)


# ---- class-probability targets, label smoothing, unbatched inputs (PyTorch accepts them) ----------

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_cross_entropy_soft_targets_and_label_smoothing_match_reference(device, dtype, data):
    xp = xp_for(device)
    logits, target, weight, ignore_index, reduction, _ = data.draw(class_problems(dtype))
    eps = data.draw(st.sampled_from([0.0, 0.1, 1.0]))
    if data.draw(st.booleans()):  # class probabilities of the logits' shape
        rng = np.random.default_rng(0)
        target = rng.dirichlet(np.ones(logits.shape[1]), size=(logits.shape[0],) + logits.shape[2:])
        target = np.moveaxis(target, -1, 1).astype(dtype)
        ignore_index = -100
    elif eps == 0:
        eps = 0.2
    w = None if weight is None else xp.asarray(weight)
    out = ops.cross_entropy(xp.asarray(logits), xp.asarray(target), w, ignore_index, reduction, label_smoothing=eps)
    assert_matches_reference(out, ref.cross_entropy, logits, target, weight, ignore_index, reduction, eps)


def test_cross_entropy_soft_targets_and_label_smoothing_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4, 3))
    probs = np.moveaxis(rng.dirichlet(np.ones(4), size=(5, 3)), -1, 1)
    ids = rng.integers(0, 4, (5, 3))
    ids[0, 1] = 2
    w = rng.uniform(0.5, 2, 4)
    for xx, target, kw in [(x, probs, {}), (x, probs, {"label_smoothing": 0.3}), (x, probs, {"weight": w}),
                           (x, ids, {"label_smoothing": 0.1}),
                           (x, ids, {"label_smoothing": 0.25, "weight": w, "ignore_index": 2}),
                           (x[:, :, 0], probs[:, :, 0], {"label_smoothing": 0.2}),
                           (x[:, :, 0], ids[:, 0], {"label_smoothing": 0.2, "weight": w})]:
        for reduction in REDUCTIONS:
            expected = torch.nn.functional.cross_entropy(
                torch.tensor(xx), torch.tensor(target), reduction=reduction,
                **{k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}).numpy()
            got = F.cross_entropy(dk.Tensor(xx), target, reduction=reduction, **kw).numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f"{kw} {reduction}")
    # unbatched: (C,) logits with a 0-d class id, or (C,) probabilities; nll_loss (C,)
    for target in (np.array(2), probs[0, :, 0]):
        for reduction in REDUCTIONS:
            expected = torch.nn.functional.cross_entropy(torch.tensor(x[0, :, 0]), torch.tensor(target),
                                                         reduction=reduction, label_smoothing=0.1).numpy()
            got = F.cross_entropy(dk.Tensor(x[0, :, 0]), target, reduction=reduction, label_smoothing=0.1).numpy()
            assert got.shape == expected.shape == ()
            np.testing.assert_allclose(got, expected, rtol=1e-12)
    for reduction in REDUCTIONS:
        expected = torch.nn.functional.nll_loss(torch.tensor(x[0, :, 0]), torch.tensor(1), reduction=reduction)
        assert F.nll_loss(dk.Tensor(x[0, :, 0]), np.array(1), reduction=reduction).numpy() == expected.numpy()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_cross_entropy_and_unbatched_gradchecks(reduction):
    rng = np.random.default_rng(1)
    probs = np.moveaxis(rng.dirichlet(np.ones(5), size=(3, 2)), -1, 1)
    ids = np.array([[0, 4], [2, 1], [3, 3]])
    w = rng.uniform(0.5, 2, 5)
    gradcheck(lambda x: F.cross_entropy(x, probs, reduction=reduction), rng.standard_normal((3, 5, 2)))
    gradcheck(lambda x: F.cross_entropy(x, probs, w, reduction=reduction, label_smoothing=0.2),
              rng.standard_normal((3, 5, 2)))
    gradcheck(lambda x: F.cross_entropy(x, ids, w, ignore_index=3, reduction=reduction, label_smoothing=0.3),
              rng.standard_normal((3, 5, 2)))
    gradcheck(lambda x: F.cross_entropy(x, np.array(3), reduction=reduction, label_smoothing=0.1),
              rng.standard_normal(5))
    gradcheck(lambda x: F.cross_entropy(x, probs[0, :, 0], reduction=reduction), rng.standard_normal(5))
    gradcheck(lambda x: F.nll_loss(x, np.array(3), reduction=reduction), rng.standard_normal(5))
    loss = dk.nn.CrossEntropyLoss(label_smoothing=0.1)(dk.Tensor(np.zeros((2, 5))), np.array([0, 1]))
    np.testing.assert_allclose(loss.item(), np.log(5))


def test_soft_target_errors_name_the_argument():
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match="cross_entropy: ignore_index is not supported for class-probability targets"):
        ops.cross_entropy(x, np.full((2, 3), 1 / 3), ignore_index=0)
    with pytest.raises(ValueError, match=r"cross_entropy: target must be integer class ids of shape \(2,\) or class "
                                         r"probabilities of the logits' shape \(2, 3\), got float64 of shape \(2, 2\)"):
        ops.cross_entropy(x, np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0.0, 1.0\], got 1.5"):
        ops.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="cross_entropy: target is float32 but logits is float64"):
        ops.cross_entropy(x, np.full((2, 3), 1 / 3, np.float32))
    with pytest.raises(ValueError, match="binary_cross_entropy: input must hold probabilities in \\[0, 1\\], got NaN"):
        ops.binary_cross_entropy(np.array([0.5, np.nan]), np.array([1.0, 1.0]))
