import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
import deepkern.nn as nn
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

P_VALUES = [2.0, 1.0, 0.0, np.inf, 3.0, 0.5, 1.5]
DIRECT = "donot_use_mm_for_euclid_dist"


@st.composite
def cdist_problems(draw, dtype):
    """x1 (B.., P, M), x2 (B.., R, M) with odd sizes, empty dims, some rows repeated across
    x1 and x2 (coincident points), and a magnitude scale; p, squared, compute mode."""
    batch = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    P, R, M = draw(st.integers(0, 37)), draw(st.integers(0, 37)), draw(st.integers(0, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    scale = draw(st.sampled_from([1.0, 1e3]))
    x1 = (rng.standard_normal(batch + (P, M)) * scale).astype(dtype)
    x2 = (rng.standard_normal(batch + (R, M)) * scale).astype(dtype)
    if P and R and draw(st.booleans()):
        x2[..., : min(P, R) // 2 + 1, :] = x1[..., : min(P, R) // 2 + 1, :]
    p = draw(st.sampled_from(P_VALUES))
    squared = p == 2 and draw(st.booleans())
    mode = DIRECT if (p == 2 and draw(st.booleans())) else "use_mm_for_euclid_dist_if_necessary"
    g = rng.standard_normal(batch + (P, R)).astype(dtype)
    return x1, x2, p, squared, mode, g


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_cdist_matches_reference(device, dtype, data):
    xp = xp_for(device)
    x1, x2, p, squared, mode, g = data.draw(cdist_problems(dtype))
    out = ops.cdist(xp.asarray(x1), xp.asarray(x2), p, mode, squared)
    assert out.dtype == dtype
    assert_matches_reference(out, ref.cdist, x1, x2, p, mode, squared)
    d = to_host(out)
    grads = ops.cdist_backward(xp.asarray(g), xp.asarray(x1), xp.asarray(x2), xp.asarray(d), p, mode, squared)
    assert_matches_reference(tuple(grads), ref.cdist_backward, g, x1, x2, d, p, mode, squared)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("squared", [False, True])
def test_cdist_coincident_points_give_zero_and_a_zero_gradient(device, dtype, squared):
    """Equal rows at large norm: the GEMM form alone leaves ~sqrt(eps) * |x| there (PyTorch's mm
    path: up to 0.02 at |x| = 24 in float32); the distance is exactly 0 and its gradient is the
    0 subgradient, finite."""
    xp = xp_for(device)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((40, 64)) * 30).astype(dtype)
    x2 = x[::-1].copy()
    d = to_host(ops.cdist(xp.asarray(x), xp.asarray(x2), squared=squared))
    np.testing.assert_array_equal(np.diagonal(d[:, ::-1]), 0)
    assert np.all(d[~np.eye(40, dtype=bool)[:, ::-1]] > 0)
    g = np.zeros_like(d)
    g[np.arange(40), np.arange(40)[::-1]] = 1  # only the coincident pairs
    g1, g2 = (to_host(v) for v in ops.cdist_backward(xp.asarray(g), xp.asarray(x), xp.asarray(x2), xp.asarray(d),
                                                     squared=squared))
    np.testing.assert_array_equal(g1, 0)
    np.testing.assert_array_equal(g2, 0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cdist_near_points_at_large_norm_are_summed_directly(device, dtype):
    """Points 1e-3 apart at norm ~1e3: every pair is near, so the result must have the direct
    sum's accuracy (the GEMM form alone would be wrong in every digit in float32)."""
    xp = xp_for(device)
    rng = np.random.default_rng(1)
    base = rng.standard_normal(16) * 300
    x1 = (base + rng.standard_normal((9, 16)) * 1e-3).astype(dtype)
    x2 = (base + rng.standard_normal((11, 16)) * 1e-3).astype(dtype)
    out = ops.cdist(xp.asarray(x1), xp.asarray(x2))
    assert_matches_reference(out, ref.cdist, x1, x2, 2.0, DIRECT)
    g = rng.standard_normal((9, 11)).astype(dtype)
    d = to_host(out)
    grads = ops.cdist_backward(xp.asarray(g), xp.asarray(x1), xp.asarray(x2), xp.asarray(d))
    assert_matches_reference(tuple(grads), ref.cdist_backward, g, x1, x2, d, 2.0, DIRECT)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [2.0, 1.0, np.inf])
def test_cdist_far_points(device, p):
    """Two clouds 2e4 apart (norms ~1e4): distances ~2e4 to float32 precision, no overflow."""
    xp = xp_for(device)
    rng = np.random.default_rng(2)
    x1 = (rng.standard_normal((20, 8)) + 1e4).astype(np.float32)
    x2 = (rng.standard_normal((30, 8)) - 1e4).astype(np.float32)
    out = ops.cdist(xp.asarray(x1), xp.asarray(x2), p)
    assert_matches_reference(out, ref.cdist, x1, x2, p)
    exact = ref.cdist(x1.astype(np.float64), x2.astype(np.float64), p, DIRECT)
    np.testing.assert_allclose(to_host(out), exact, rtol=8 * np.finfo(np.float32).eps * 8)


@pytest.mark.parametrize("device", DEVICES)
def test_cdist_nan_propagates(device):
    xp = xp_for(device)
    x1 = np.ones((3, 4), np.float32)
    x1[1, 2] = np.nan
    for p in [2.0, 1.0, np.inf]:
        d = to_host(ops.cdist(xp.asarray(x1), xp.asarray(np.zeros((2, 4), np.float32)), p))
        assert np.all(np.isnan(d[1])) and np.all(np.isfinite(d[[0, 2]])), p


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("squared", [False, True])
def test_cdist_infinite_coordinates_give_inf_as_the_difference_form(device, squared):
    """The matrix-product form computes inf - inf = NaN for a pair with an infinite coordinate;
    such pairs are summed directly: inf, NaN only where the difference is (inf - inf, a NaN).
    Sizes past PyTorch's mm threshold (25 rows), the other pairs of those rows and columns exact."""
    xp = xp_for(device)
    rng = np.random.default_rng(11)
    x1 = rng.standard_normal((30, 5)).astype(np.float32)
    x2 = rng.standard_normal((27, 5)).astype(np.float32)
    x1[4, 1], x1[7, 0], x1[9, 2], x1[12, 3] = np.inf, -np.inf, np.nan, 3e20  # 3e20^2 overflows float32
    x2[5, 1], x2[6, 4] = np.inf, -np.inf
    with np.errstate(all="ignore"):
        diff = x1[:, None, :].astype(np.float64) - x2[None, :, :]
        exact = (diff ** 2).sum(-1).astype(np.float32)
        exact = exact if squared else np.sqrt(exact)
        reference = ref.cdist(x1, x2, squared=squared)
    assert np.isnan(exact[4, 5]) and np.isinf(exact[4, 6]) and np.isinf(exact[12, 0])
    finite = np.isfinite(exact)
    for out in (to_host(ops.cdist(xp.asarray(x1), xp.asarray(x2), squared=squared)), reference):
        np.testing.assert_array_equal(np.isnan(out), np.isnan(exact))
        np.testing.assert_array_equal(out[np.isinf(exact)], exact[np.isinf(exact)])
        np.testing.assert_allclose(out[finite], exact[finite], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_cdist_broadcasts_batch_dims_and_takes_views(device):
    xp = xp_for(device)
    rng = np.random.default_rng(3)
    x1 = rng.standard_normal((2, 1, 5, 12))[..., ::2]           # non-contiguous (2, 1, 5, 6)
    x2 = rng.standard_normal((3, 7, 6))
    out = ops.cdist(xp.asarray(x1), xp.asarray(x2))
    assert out.shape == (2, 3, 5, 7)
    assert_matches_reference(out, ref.cdist, np.ascontiguousarray(x1), x2)
    g = rng.standard_normal((2, 3, 5, 7))
    g1, g2 = ops.cdist_backward(xp.asarray(g), xp.asarray(x1), xp.asarray(x2), out)
    assert g1.shape == x1.shape and g2.shape == x2.shape
    assert_matches_reference((g1, g2), ref.cdist_backward, g, np.ascontiguousarray(x1), x2, to_host(out))


@pytest.mark.parametrize("p", [2.0, 1.0, 0.0, np.inf, 3.0, 0.5])
def test_cdist_gradcheck_including_coincident_points(p):
    rng = np.random.default_rng(4)
    x1, x2 = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3))
    x2[:, 1] = x1[:, 2]  # the symmetric difference quotient of |x| at 0 is 0: the subgradient we return
    gradcheck(lambda a, b: F.cdist(a, b, p=p), x1, x2)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist", DIRECT])
def test_cdist_gradcheck_squared_and_modes(mode):
    rng = np.random.default_rng(5)
    x1, x2 = rng.standard_normal((6, 4)) * 2, rng.standard_normal((3, 4))
    gradcheck(lambda a, b: F.cdist(a, b, squared=True, compute_mode=mode), x1, x2)
    gradcheck(lambda a, b: F.cdist(a, b, compute_mode=mode), x1, x2)
    gradcheck(lambda a: F.cdist(a, a), x1)  # x1 used twice: both gradients summed


@pytest.mark.parametrize("p", [2.0, 1.0, np.inf, 3.0])
def test_cdist_matches_torch(p):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x1, x2 = rng.standard_normal((2, 30, 9)), rng.standard_normal((2, 27, 9))
    g = rng.standard_normal((2, 30, 27))
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    out = torch.cdist(t1, t2, p=p)
    out.backward(torch.tensor(g))
    ours = ops.cdist(x1, x2, p)
    g1, g2 = ops.cdist_backward(g, x1, x2, ours, p)
    # float64: both are exact to ~1e-15 relative; 1e-10 leaves room for either's summation order
    np.testing.assert_allclose(ours, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g1, t1.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g2, t2.grad.numpy(), rtol=1e-10, atol=1e-10)


# ---- pairwise_distance ---------------------------------------------------------------------
@st.composite
def pairwise_problems(draw, dtype):
    n, m = draw(st.integers(0, 33)), draw(st.integers(1, 40))
    shape2 = draw(st.sampled_from([(n, m), (m,), (1, m)]))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    scale = draw(st.sampled_from([1.0, 1e3]))
    x1 = (rng.standard_normal((n, m)) * scale).astype(dtype)
    x2 = (rng.standard_normal(shape2) * scale).astype(dtype)
    p = draw(st.sampled_from(P_VALUES))
    eps = draw(st.sampled_from([1e-6, 0.0]))
    keepdim = draw(st.booleans())
    g = rng.standard_normal((n, 1) if keepdim else (n,)).astype(dtype)
    return x1, x2, p, eps, keepdim, g


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(data=st.data())
def test_pairwise_distance_matches_reference(device, dtype, data):
    xp = xp_for(device)
    x1, x2, p, eps, keepdim, g = data.draw(pairwise_problems(dtype))
    out = ops.pairwise_distance(xp.asarray(x1), xp.asarray(x2), p, eps, keepdim)
    assert_matches_reference(out, ref.pairwise_distance, x1, x2, p, eps, keepdim)
    d = to_host(out)
    grads = ops.pairwise_distance_backward(xp.asarray(g), xp.asarray(x1), xp.asarray(x2), xp.asarray(d), p, eps,
                                           keepdim)
    assert_matches_reference(tuple(grads), ref.pairwise_distance_backward, g, x1, x2, d, p, eps, keepdim)


@pytest.mark.parametrize("p", [2.0, 1.0, np.inf, 3.0, 0.5])
def test_pairwise_distance_gradcheck(p):
    rng = np.random.default_rng(7)
    x1, x2 = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    gradcheck(lambda a, b: F.pairwise_distance(a, b, p=p), x1, x2)
    gradcheck(lambda a, b: nn.PairwiseDistance(p=p, keepdim=True)(a, b), x1, x2[0])


def test_pairwise_distance_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x1, x2 = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
    for p in [2.0, 1.0, 3.0]:
        t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
        torch.nn.functional.pairwise_distance(t1, t2, p=p).sum().backward()
        a, b = dk.Tensor(x1, requires_grad=True), dk.Tensor(x2, requires_grad=True)
        F.pairwise_distance(a, b, p=p).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t1.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(b.grad.numpy(), t2.grad.numpy(), rtol=1e-12)


def test_normalize_matches_formula_and_gradcheck():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 6))
    y = F.normalize(dk.Tensor(x)).data
    np.testing.assert_allclose(y, x / np.linalg.norm(x, axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1, rtol=1e-14)
    gradcheck(lambda t: F.normalize(t), x)
    gradcheck(lambda t: F.normalize(t, p=3.0, dim=0), x)
    zero = F.normalize(dk.Tensor(np.zeros((2, 3))))  # below eps: divided by eps, stays 0
    np.testing.assert_array_equal(zero.data, 0)


# ---- errors ---------------------------------------------------------------------------------
def test_cdist_errors_name_argument_and_values():
    a = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"cdist: x1 must be \(\.\.\., rows, features\) with at least 2 dims, got shape \(4,\)"):
        ops.cdist(np.zeros(4, np.float32), a)
    with pytest.raises(ValueError, match=r"cdist: x1 and x2 must have the same number of features \(last dim\), got x1.shape=\(3, 4\) and x2.shape=\(3, 5\)"):
        ops.cdist(a, np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"cdist: the batch dims of x1 \(2,\) and x2 \(3,\) do not broadcast"):
        ops.cdist(np.zeros((2, 3, 4)), np.zeros((3, 3, 4)))
    with pytest.raises(ValueError, match=r"cdist: p must be >= 0 \(or inf\), got -1.0"):
        ops.cdist(a, a, p=-1)
    with pytest.raises(ValueError, match=r"cdist: p must be >= 0 \(or inf\), got nan"):
        ops.cdist(a, a, p=float("nan"))
    with pytest.raises(TypeError, match=r"cdist: p must be a real number, got str '2'"):
        ops.cdist(a, a, p="2")
    with pytest.raises(ValueError, match=r"cdist: squared=True needs p=2 \(squared Euclidean distances\), got p=1.0"):
        ops.cdist(a, a, p=1, squared=True)
    with pytest.raises(ValueError, match=r"cdist: compute_mode must be one of .*got 'fast'"):
        ops.cdist(a, a, compute_mode="fast")
    with pytest.raises(TypeError, match=r"cdist: x2 is float64 but x1 is float32"):
        ops.cdist(a, np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"cdist: x1 must be float32 or float64, got int64"):
        ops.cdist(np.zeros((3, 4), np.int64), a)
    with pytest.raises(ValueError, match=r"cdist_backward: grad_out must have shape \(3, 3\) .*got \(3, 4\)"):
        ops.cdist_backward(np.zeros((3, 4), np.float32), a, a, np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"pairwise_distance: x1 of shape \(3, 4\) and x2 of shape \(2, 4\) do not broadcast"):
        ops.pairwise_distance(a, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"pairwise_distance: eps must be"):
        ops.pairwise_distance(a, a, eps=float("nan"))


def test_cpu_extension_checks_sizes_itself():
    x1, x2 = np.zeros((1, 3, 4), np.float32), np.zeros((1, 5, 4), np.float32)
    out = np.zeros((1, 3, 5), np.float32)
    with pytest.raises(ValueError, match=r"cdist_euclidean_forward: work must have shape \(8,\), got \(7,\)"):
        dk._cpu.cdist_euclidean_forward(x1, x2, out, np.zeros(7, np.float32), False)
    with pytest.raises(ValueError, match=r"cdist_lp_forward: out must have shape \(1, 3, 5\), got \(1, 5, 3\)"):
        dk._cpu.cdist_lp_forward(x1, x2, np.zeros((1, 5, 3), np.float32), 1.0)
    with pytest.raises(ValueError, match=r"cdist_lp_forward: x2 must have shape \(1, R, 4\)"):
        dk._cpu.cdist_lp_forward(x1, np.zeros((1, 5, 3), np.float32), out, 1.0)
    with pytest.raises(ValueError, match=r"cdist_lp_forward: p must be >= 0"):
        dk._cpu.cdist_lp_forward(x1, x2, out, -2.0)
    with pytest.raises(ValueError, match=r"pairwise_distance_backward: grad_x1 must be writable"):
        ro = np.zeros((3, 4), np.float32)
        ro.flags.writeable = False
        dk._cpu.pairwise_distance_backward(np.zeros(3, np.float32), x1[0], x1[0], np.zeros(3, np.float32), ro, 2.0,
                                           0.0)
