import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for


@st.composite
def pool_cases(draw, dilation=True):
    """Windows as PyTorch takes them: dilation (max pooling), ceil_mode, padding up to half the
    kernel."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    dil = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilation else (1, 1)
    span = (dil[0] * (kh - 1) + 1, dil[1] * (kw - 1) + 1)
    pad = (draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2)))
    H, W = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    assume(H + 2 * pad[0] >= span[0] and W + 2 * pad[1] >= span[1])
    lead = draw(st.sampled_from([(0, 3), (1, 1), (2, 3), (3,)]))
    case = dict(shape=lead + (H, W), kernel_size=(kh, kw), stride=stride, padding=pad, ceil_mode=draw(st.booleans()))
    if dilation:
        case["dilation"] = dil
    return case


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=pool_cases(), seed=st.integers(0, 2**31 - 1), ties=st.booleans())
def test_max_pool2d_matches_reference(device, dtype, case, seed, ties):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["shape"])
    if ties:  # few distinct values: exercises first-maximum-wins tie breaking
        x = np.round(x)
    x = x.astype(dtype)
    win = {k: v for k, v in case.items() if k != "shape"}
    y, idx = ops.max_pool2d_with_indices(xp.asarray(x), **win)
    ry, ridx = ref.max_pool2d_with_indices(x, **win)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(to_host(y), ry)
    np.testing.assert_array_equal(to_host(idx), ridx)
    np.testing.assert_array_equal(to_host(ops.max_pool2d(xp.asarray(x), **win)), ry)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx = ops.max_pool2d_backward(xp.asarray(g), idx, x.shape)
    assert_matches_reference(gx, lambda g: ref.max_pool2d_backward(g, ridx, x.shape), g)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(case=pool_cases(dilation=False), seed=st.integers(0, 2**31 - 1), count_include_pad=st.booleans(),
       divisor=st.sampled_from([None, None, 1, 3]))
def test_avg_pool2d_matches_reference(device, dtype, case, seed, count_include_pad, divisor):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case["shape"]).astype(dtype)
    win = dict(kernel_size=case["kernel_size"], stride=case["stride"], padding=case["padding"],
               ceil_mode=case["ceil_mode"], count_include_pad=count_include_pad, divisor_override=divisor)
    y = ops.avg_pool2d(xp.asarray(x), **win)
    assert_matches_reference(y, lambda x: ref.avg_pool2d(x, **win), x)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx = ops.avg_pool2d_backward(xp.asarray(g), x.shape, **win)
    assert_matches_reference(gx, lambda g: ref.avg_pool2d_backward(g, x.shape, **win), g)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=st.sampled_from([(0, 2), (1, 1), (2, 3), (3,)]), H=st.integers(1, 13), W=st.integers(1, 13),
       out=st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 6), st.integers(1, 6)),
                     st.tuples(st.none(), st.integers(1, 3))),
       seed=st.integers(0, 2**31 - 1))
def test_adaptive_avg_pool2d_matches_reference(device, dtype, shape, H, W, out, seed):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape + (H, W)).astype(dtype)
    y = ops.adaptive_avg_pool2d(xp.asarray(x), out)
    assert_matches_reference(y, lambda x: ref.adaptive_avg_pool2d(x, out), x)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx = ops.adaptive_avg_pool2d_backward(xp.asarray(g), x.shape)
    assert_matches_reference(gx, lambda g: ref.adaptive_avg_pool2d_backward(g, x.shape), g)


@pytest.mark.parametrize("device", DEVICES)
def test_max_pool2d_nan_and_inf_follow_pytorch(device):
    xp = xp_for(device)
    x = np.array([[[[1.0, np.nan, 3.0, 2.0], [-np.inf, -np.inf, 5.0, 5.0]],
                   [[-np.inf, -np.inf, 0.0, 0.0], [-np.inf, -np.inf, 0.0, 0.0]]]], np.float32)
    y, idx = ops.max_pool2d_with_indices(xp.asarray(x), 2)
    ry, ridx = ref.max_pool2d_with_indices(x, 2)
    np.testing.assert_array_equal(to_host(y), ry)
    np.testing.assert_array_equal(to_host(idx), ridx)
    assert np.isnan(ry[0, 0, 0, 0]) and ridx[0, 0, 0, 0] == 1     # a NaN wins
    assert ridx[0, 0, 0, 1] == 6                                     # first of the tied 5s
    assert ry[0, 1, 0, 0] == -np.inf and ridx[0, 1, 0, 0] == 0      # all -inf: first position


@pytest.mark.parametrize("device", DEVICES)
def test_pool_non_contiguous_input(device):
    xp = xp_for(device)
    x = xp.asarray(np.random.default_rng(0).standard_normal((2, 3, 9, 16)).astype(np.float32))[..., ::2]
    assert not x.flags.c_contiguous
    np.testing.assert_array_equal(to_host(ops.max_pool2d(x, 3, 2, 1)), ref.max_pool2d(to_host(x), 3, 2, 1))
    assert_matches_reference(ops.avg_pool2d(x, 2), lambda x: ref.avg_pool2d(x, 2), to_host(x))
    assert_matches_reference(ops.adaptive_avg_pool2d(x, 1), lambda x: ref.adaptive_avg_pool2d(x, 1), to_host(x))


def test_max_pool2d_large_planes_threaded():
    """Many planes across threads, stride 2 with padding (ResNet's stem pooling)."""
    x = np.random.default_rng(1).standard_normal((2, 5, 37, 41)).astype(np.float32)
    y, idx = ops.max_pool2d_with_indices(x, 3, 2, 1)
    ry, ridx = ref.max_pool2d_with_indices(x, 3, 2, 1)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(idx, ridx)


@pytest.mark.parametrize("fn, args", [
    (F.max_pool2d, (3, 2, 1)), (F.avg_pool2d, ((2, 3), 1, (1, 1))), (F.avg_pool2d, (3, 2, 1, False)),
    (F.adaptive_avg_pool2d, ((3, 2),)), (F.adaptive_avg_pool2d, (1,)),
])
def test_pool_gradcheck(fn, args):
    x = np.random.default_rng(2).standard_normal((2, 2, 7, 6))
    gradcheck(lambda x: fn(x, *args), x)


TORCH_WINDOWS = [  # (kernel, stride, padding, dilation, ceil_mode) where ceil / dilation change the result
    (3, 2, 0, 1, True), (3, 2, 1, 1, True), (2, 2, 0, 1, True), (3, 1, 1, 1, True), (3, 3, 1, 2, False),
    (3, 2, 1, 3, True), ((2, 3), (3, 2), (1, 1), (3, 1), True), (4, 3, 2, 1, True), (5, 2, 2, 2, True),
]


@pytest.mark.parametrize("kernel,stride,padding,dilation,ceil_mode", TORCH_WINDOWS)
def test_pooling_arguments_match_torch(kernel, stride, padding, dilation, ceil_mode):
    """ceil_mode, dilation and divisor_override give PyTorch's sizes, values and indices."""
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    x = np.random.default_rng(4).standard_normal((2, 3, 11, 14))
    tx = torch.tensor(x, requires_grad=True)
    ty, tidx = TF.max_pool2d(tx, kernel, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True)
    y, idx = ops.max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(y, ty.detach().numpy())
    np.testing.assert_array_equal(idx, tidx.numpy())
    ty.backward(torch.ones_like(ty))
    np.testing.assert_array_equal(ops.max_pool2d_backward(np.ones_like(y), idx, x.shape), tx.grad.numpy())
    if dilation == 1:
        for cip in (True, False):
            for div in (None, 5):
                tx.grad = None
                ta = TF.avg_pool2d(tx, kernel, stride, padding, ceil_mode, cip, div)
                a = ops.avg_pool2d(x, kernel, stride, padding, ceil_mode, cip, div)
                np.testing.assert_allclose(a, ta.detach().numpy(), rtol=1e-12, atol=1e-15)
                ta.backward(torch.ones_like(ta))
                ga = ops.avg_pool2d_backward(np.ones_like(a), x.shape, kernel, stride, padding, ceil_mode, cip, div)
                np.testing.assert_allclose(ga, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_pool_gradcheck_with_ceil_mode_dilation_and_divisor():
    x = np.random.default_rng(5).standard_normal((1, 2, 8, 7))
    gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, 2, True), x)
    gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, True, True, None), x)
    gradcheck(lambda x: F.avg_pool2d(x, 2, 3, 0, True, False, 3), x)
    y, idx = F.max_pool2d(dk.Tensor(x), 2, return_indices=True)
    assert y.shape == (1, 2, 4, 3) and idx.dtype == np.int64 and idx.shape == y.shape
    layer = dk.nn.MaxPool2d(3, 2, ceil_mode=True)
    assert layer(dk.Tensor(x)).shape == (1, 2, 4, 3) and "ceil_mode=True" in repr(layer)
    assert dk.nn.AvgPool2d(2, ceil_mode=True, divisor_override=2)(dk.Tensor(x)).shape == (1, 2, 4, 4)


def test_googlenet_pools_are_torchvisions():
    """torchvision's GoogLeNet pools with ceil_mode=True (3x3/2 without padding): the windows,
    not only the map sizes, must be the same; an odd map size shows the difference."""
    from deepkern.models import GoogLeNet
    model = GoogLeNet(num_classes=10)
    x = np.random.default_rng(6).standard_normal((1, 2, 15, 15)).astype(np.float32)
    expected = {"maxpool1": (3, 2, 0), "maxpool2": (3, 2, 0), "maxpool3": (3, 2, 0), "maxpool4": (2, 2, 0)}
    for name, (k, s, p) in expected.items():
        layer = getattr(model, name)
        assert (layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode) == (k, s, p, True), name
        y = layer(dk.Tensor(x)).numpy()
        np.testing.assert_array_equal(y, ref.max_pool2d(x, k, s, p, ceil_mode=True))
    assert model.inception3a.branch4[0].ceil_mode
    assert model(dk.Tensor(np.zeros((1, 3, 64, 64), np.float32))).shape == (1, 10)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(model.maxpool1(dk.Tensor(x)).numpy(),
                                  torch.nn.MaxPool2d(3, stride=2, ceil_mode=True)(torch.tensor(x)).numpy())


def test_pool_errors_name_argument_and_values():
    x = np.zeros((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(3, 3\)"):
        ops.max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half of kernel_size \(3, 3\)"):
        ops.max_pool2d(x, 3, padding=2, dilation=2)  # PyTorch's rule: the kernel, not the dilated span
    with pytest.raises(ValueError, match=r"max_pool2d: dilation must be >= 1, got 0"):
        ops.max_pool2d(x, 3, dilation=0)
    with pytest.raises(TypeError, match=r"max_pool2d: ceil_mode must be a bool, got int 1"):
        ops.max_pool2d(x, 3, ceil_mode=1)
    with pytest.raises(ValueError, match=r"avg_pool2d: divisor_override must be >= 1, got 0"):
        ops.avg_pool2d(x, 3, divisor_override=0)
    with pytest.raises(ValueError, match=r"max_pool2d_forward: dilation must be >= 1, got \(0, 1\)"):
        dk._cpu.max_pool2d_forward(x, np.zeros((2, 3, 3, 3), np.float32), None, (3, 3), (2, 2), (0, 0), (0, 1), False)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel_size \(9, 9\) is larger than the padded input \(8, 8\)"):
        ops.avg_pool2d(x, 9)
    with pytest.raises(ValueError, match=r"max_pool2d: stride must be >= 1, got 0"):
        ops.max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match=r"max_pool2d: padding must be >= 0, got -1"):
        ops.max_pool2d(x, 2, padding=-1)
    with pytest.raises(ValueError, match=r"max_pool2d: x must be 4-D \(N, C, H, W\) or 3-D \(C, H, W\), got shape \(8, 8\)"):
        ops.max_pool2d(x[0, 0], 2)
    with pytest.raises(TypeError, match=r"avg_pool2d: x must be float32 or float64, got int64"):
        ops.avg_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be >= 1, got 0"):
        ops.adaptive_avg_pool2d(x, 0)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: input height and width must be >= 1"):
        ops.adaptive_avg_pool2d(np.zeros((1, 1, 0, 4), np.float32), 1)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: indices must have the shape of grad_out"):
        ops.max_pool2d_backward(np.zeros((2, 3, 4, 4), np.float32), np.zeros((2, 3, 4, 3), np.int64), x.shape)
    with pytest.raises(TypeError, match=r"max_pool2d_backward: indices must be an integer array, got float32"):
        ops.max_pool2d_backward(np.zeros((2, 3, 4, 4), np.float32), np.zeros((2, 3, 4, 4), np.float32), x.shape)
    with pytest.raises(ValueError, match=r"max_pool2d_backward: indices\[5\] = 64 is outside the input plane of 64"):
        bad = np.zeros((2, 3, 4, 4), np.int64)
        bad.reshape(-1)[5] = 64
        ops.max_pool2d_backward(np.zeros((2, 3, 4, 4), np.float32), bad, x.shape)
    with pytest.raises(ValueError, match=r"avg_pool2d_backward: grad_out must have shape \(2, 3, 4, 4\), got \(2, 3, 4, 5\)"):
        ops.avg_pool2d_backward(np.zeros((2, 3, 4, 5), np.float32), x.shape, 2)


def test_cpu_extension_checks_sizes_itself():
    x = np.zeros((2, 3, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3, 4, 4\)"):
        dk._cpu.max_pool2d_forward(x, np.zeros((2, 3, 4, 3), np.float32), None, (2, 2), (2, 2), (0, 0), (1, 1), False)
    with pytest.raises(ValueError, match=r"indices must be int64"):
        dk._cpu.max_pool2d_forward(x, np.zeros((2, 3, 4, 4), np.float32), np.zeros((2, 3, 4, 4), np.int32),
                                   (2, 2), (2, 2), (0, 0), (1, 1), False)
    with pytest.raises(ValueError, match="at most half of kernel_size"):
        dk._cpu.avg_pool2d_forward(x, np.zeros((2, 3, 4, 4), np.float32), (2, 2), (2, 2), (2, 0), False, True, 0)
    with pytest.raises(ValueError, match="divisor_override must be positive, got -1"):
        dk._cpu.avg_pool2d_forward(x, np.zeros((2, 3, 4, 4), np.float32), (2, 2), (2, 2), (0, 0), False, True, -1)
    with pytest.raises(ValueError, match=r"grad_out must have shape \(2, 2, 3, 3\), got \(2, 3, 3, 3\)"):
        dk._cpu.adaptive_avg_pool2d_backward(np.zeros((2, 3, 3, 3), np.float32), np.zeros((2, 2, 6, 6), np.float32))
    with pytest.raises(ValueError, match="is outside the input plane"):
        dk._cpu.max_pool2d_backward(np.zeros((1, 1, 1, 1), np.float32), np.full((1, 1, 1, 1), -2, np.int64),
                                    np.zeros((1, 1, 2, 2), np.float32))
