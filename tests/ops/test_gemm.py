import contextlib

import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

DTYPES = [np.float32, np.float64]
# Every micro-kernel family this CPU can run (set_gemm_isa forces one), so the AVX2 and
# portable kernels are tested on an AVX-512 machine too.
ISAS = [isa for isa in ("avx512", "avx2", "baseline")
        if ["baseline", "avx2", "avx512"].index(isa) <= ["baseline", "avx2", "avx512"].index(dk.info()["cpu_isa"])]
dims = st.integers(0, 40)


@contextlib.contextmanager
def forced_isa(isa):
    dk._cpu.set_gemm_isa(isa)
    try:
        yield
    finally:
        dk._cpu.set_gemm_isa(None)


def _operand(rng, rows, cols, trans, dtype, batch=None):
    shape = (cols, rows) if trans else (rows, cols)
    return rng.standard_normal(shape if batch is None else (batch, *shape)).astype(dtype)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_matmul_2d_matches_reference_on_every_isa(isa, dtype, m, n, k, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, m, k, ta, dtype), _operand(rng, k, n, tb, dtype)
    with forced_isa(isa):
        y = ops.matmul(a, b, trans_a=ta, trans_b=tb)
    assert y.shape == (m, n) and y.dtype == dtype
    assert_matches_reference(y, ref.matmul, a, b, trans_a=ta, trans_b=tb)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_matmul_2d_matches_reference(device, dtype, m, n, k, ta, tb, seed):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, m, k, ta, dtype), _operand(rng, k, n, tb, dtype)
    assert_matches_reference(ops.matmul(xp.asarray(a), xp.asarray(b), ta, tb), ref.matmul, a, b,
                             trans_a=ta, trans_b=tb)


BLOCK_EDGES = [(40, 1000, 600),   # N past one N block, K past two K blocks
               (3100, 3, 5),      # M past one M block
               (33, 129, 257),    # one past GPU tiles / CPU panels
               (1, 1, 700),
               (1, 515, 3139)]    # one row (read in place): rows past a block of 4, k past the vectors


def _check_block_edges(xp, dtype, m, n, k):
    rng = np.random.default_rng(m + n + k)
    for ta, tb in [(False, False), (True, True)]:
        a, b = _operand(rng, m, k, ta, dtype), _operand(rng, k, n, tb, dtype)
        assert_matches_reference(ops.matmul(xp.asarray(a), xp.asarray(b), ta, tb), ref.matmul, a, b,
                                 trans_a=ta, trans_b=tb)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", BLOCK_EDGES)
def test_matmul_block_edges_cpu(isa, dtype, m, n, k):
    with forced_isa(isa):
        _check_block_edges(np, dtype, m, n, k)


@pytest.mark.parametrize("device", [d for d in DEVICES if d.id == "cuda"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("m,n,k", BLOCK_EDGES)
def test_matmul_block_edges_cuda(device, dtype, m, n, k):
    _check_block_edges(xp_for(device), dtype, m, n, k)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("m,n,k", [(300, 20, 60), (20, 300, 60), (97, 101, 64)])
def test_matmul_thread_splits(threads, m, n, k):
    """Row splits, column splits and 3-way grids give the same answer."""
    before = dk.get_num_threads()
    rng = np.random.default_rng(threads)
    a, b = _operand(rng, m, k, False, np.float32), _operand(rng, k, n, False, np.float32)
    try:
        dk.set_num_threads(threads)
        assert_matches_reference(ops.matmul(a, b), ref.matmul, a, b)
    finally:
        dk.set_num_threads(before)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(batch=st.integers(0, 4), m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(),
       which=st.sampled_from(["both", "a", "b"]), seed=st.integers(0, 2**31 - 1))
def test_matmul_batched(device, dtype, batch, m, n, k, ta, tb, which, seed):
    """(B, M, K) @ (B, K, N), and a 2-D operand broadcast over the batch."""
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    a = _operand(rng, m, k, ta, dtype, None if which == "b" else batch)
    b = _operand(rng, k, n, tb, dtype, None if which == "a" else batch)
    y = ops.matmul(xp.asarray(a), xp.asarray(b), ta, tb)
    assert y.shape == (batch, m, n)
    assert_matches_reference(y, ref.matmul, a, b, trans_a=ta, trans_b=tb)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", DTYPES)
@given(m=dims, n=dims, k=dims, ta=st.booleans(), tb=st.booleans(), bias=st.booleans(),
       alpha=st.sampled_from([1.0, -0.5, 3.0]), beta=st.sampled_from([0.0, 1.0, 0.25]),
       seed=st.integers(0, 2**31 - 1))
def test_cpu_gemm_alpha_beta_bias(isa, dtype, m, n, k, ta, tb, bias, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    a, b = _operand(rng, m, k, ta, dtype), _operand(rng, k, n, tb, dtype)
    c = rng.standard_normal((m, n)).astype(dtype)
    bv = rng.standard_normal(n).astype(dtype) if bias else None
    out = c.copy()
    with forced_isa(isa):
        dk._cpu.gemm(a, b, out, ta, tb, alpha, beta, bv)

    def expected(a, b, c, bv=None):
        t = a.dtype.type
        y = t(alpha) * ref.matmul(a, b, ta, tb) + t(beta) * c
        return y + bv if bv is not None else y

    assert_matches_reference(out, expected, a, b, c, *([bv] if bias else []))


@pytest.mark.parametrize("isa", ISAS)
def test_cpu_gemm_beta_zero_never_reads_out(isa):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((17, 9)).astype(np.float32), rng.standard_normal((9, 35)).astype(np.float32)
    out = np.full((17, 35), np.nan, np.float32)
    empty_k = np.full((3, 4), np.nan, np.float32)
    with forced_isa(isa):
        dk._cpu.gemm(a, b, out, False, False, 1.0, 0.0)
        dk._cpu.gemm(np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32), empty_k)
    assert np.all(np.isfinite(out))
    assert_matches_reference(out, ref.matmul, a, b)
    np.testing.assert_array_equal(empty_k, np.zeros((3, 4), np.float32))


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_inputs_and_out(device):
    xp = xp_for(device)
    rng = np.random.default_rng(3)
    a = xp.asarray(rng.standard_normal((20, 30)))
    b = xp.asarray(rng.standard_normal((40, 30)))
    av, bv = a[::2, ::3], b.T[::3, ::2]  # (10, 10) and (10, 20), neither contiguous
    assert_matches_reference(ops.matmul(av, bv), ref.matmul, to_host(av), to_host(bv))
    out = xp.empty((10, 20))
    assert ops.matmul(av, bv, out=out) is out
    assert_matches_reference(out, ref.matmul, to_host(av), to_host(bv))
    x3 = xp.asarray(rng.standard_normal((4, 10, 6)))[:, ::2]  # (4, 5, 6) strided
    assert_matches_reference(ops.matmul(x3, a[:6]), ref.matmul, to_host(x3), to_host(a[:6]))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(lead=st.lists(st.integers(0, 5), min_size=0, max_size=2), n_in=dims, n_out=dims,
       bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_linear_forward_backward(device, dtype, lead, n_in, n_out, bias, seed):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((*lead, n_in)).astype(dtype)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype) if bias else None
    y = ops.linear(xp.asarray(x), xp.asarray(w), None if b is None else xp.asarray(b))
    assert y.shape == (*lead, n_out)
    assert_matches_reference(y, ref.linear, x, w, b)
    g = rng.standard_normal((*lead, n_out)).astype(dtype)
    grads = ops.linear_backward(xp.asarray(g), xp.asarray(x), xp.asarray(w), need_bias=bias)
    assert_matches_reference(grads, ref.linear_backward, g, x, w, need_bias=bias)


@pytest.mark.parametrize("dtype", DTYPES)
@given(m=st.integers(0, 300), n=st.integers(0, 70), seed=st.integers(0, 2**31 - 1))
def test_column_sum(dtype, m, n, seed):
    x = np.random.default_rng(seed).standard_normal((m, n)).astype(dtype)
    out = np.full(n, np.nan, dtype)
    dk._cpu.column_sum(x, out)
    assert_matches_reference(out, lambda x: x.sum(axis=0), x)


def test_gradcheck_linear():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    gradcheck(F.linear, x, w, b)
    gradcheck(F.linear, x, w)
    gradcheck(F.linear, rng.standard_normal((2, 3, 3)), w, b)  # (*, in) input


def _matmul_shapes(draw_batch, m, n, k, a_vec, b_vec):
    """Shapes of a, b for torch.matmul: 1-D vectors, or batched matrices with broadcast batches."""
    batch_a, batch_b = draw_batch
    a = (k,) if a_vec else (*batch_a, m, k)
    b = (k,) if b_vec else (*batch_b, k, n)
    return a, b


batches = st.sampled_from([((), ()), ((3,), ()), ((), (2,)), ((2,), (2,)), ((2, 1), (3,)), ((1, 3), (2, 1)),
                           ((4, 2, 3), (1, 3)), ((0,), ()), ((2, 0), (1,)), ((1,), (1, 1, 2))])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@given(batch=batches, m=st.integers(0, 9), n=st.integers(0, 9), k=st.integers(0, 9), a_vec=st.booleans(),
       b_vec=st.booleans(), ta=st.booleans(), tb=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_matmul_nd_and_1d_follow_numpy_rules(device, dtype, batch, m, n, k, a_vec, b_vec, ta, tb, seed):
    """1-D operands, more than 3 dims and broadcast batch dims, as np.matmul / torch.matmul."""
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    sa, sb = _matmul_shapes(batch, m, n, k, a_vec, b_vec)
    a = rng.standard_normal(sa[:-2] + sa[-2:][::-1] if ta and len(sa) > 1 else sa).astype(dtype)
    b = rng.standard_normal(sb[:-2] + sb[-2:][::-1] if tb and len(sb) > 1 else sb).astype(dtype)
    y = ops.matmul(xp.asarray(a), xp.asarray(b), trans_a=ta, trans_b=tb)
    expected = ref.matmul(a, b, trans_a=ta, trans_b=tb)
    assert y.shape == expected.shape and y.dtype == dtype
    assert_matches_reference(y, ref.matmul, a, b, trans_a=ta, trans_b=tb)


def test_matmul_accepts_the_other_byte_order():
    """A big-endian float32 array (as read from a file) is float32: converted, not refused."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)).astype(">f4"), rng.standard_normal((4, 2)).astype(np.float32)
    y = ops.matmul(a, b)
    assert y.dtype == np.float32 and y.dtype.isnative
    np.testing.assert_allclose(y, a.astype(np.float32) @ b, rtol=1e-6)
    assert ops.matmul(b.T.astype(">f4"), a.T.astype(">f4")).dtype == np.float32  # both, and the first
    with pytest.raises(TypeError, match="matmul: a must be float32 or float64, got int32$"):
        ops.matmul(np.zeros((3, 4), ">i4"), b)


@pytest.mark.parametrize("sa,sb", [((10,), (5, 10, 5)), ((10,), (5, 5, 10, 5)), ((5, 10, 5), (5,)), ((4,), (4,)),
                                   ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5))])
def test_functional_matmul_backward_with_1d_and_broadcast_operands(sa, sb):
    """(10,) @ (5, 10, 5) raised "cannot reshape" in backward; every case now matches the
    finite-difference gradient, and the forward is the GEMM kernel's."""
    rng = np.random.default_rng(0)
    gradcheck(F.matmul, rng.standard_normal(sa), rng.standard_normal(sb))


def test_functional_batched_matmul_runs_on_the_gemm_kernel(monkeypatch):
    calls = []
    real = dk._backend.kernels

    class Spy:
        def __init__(self, k):
            self.k = k

        def __getattr__(self, name):
            if name == "gemm":
                calls.append(name)
            return getattr(self.k, name)
    monkeypatch.setattr(dk.ops.gemm, "kernels", lambda xp: Spy(real(xp)))
    monkeypatch.setattr(np, "matmul", None)  # NumPy's matmul is not used
    a = dk.Tensor(np.ones((4, 3, 5), np.float32), requires_grad=True)
    b = dk.Tensor(np.ones((4, 5, 2), np.float32), requires_grad=True)
    (a @ b).sum().backward()
    assert len(calls) == 3  # forward, grad a, grad b


def test_gradcheck_tensor_matmul():
    rng = np.random.default_rng(1)
    gradcheck(lambda a, b: a @ b, rng.standard_normal((4, 6)), rng.standard_normal((6, 3)))
    gradcheck(lambda a, b: a.T @ b, rng.standard_normal((6, 4)), rng.standard_normal((6, 3)))


def test_errors_name_op_argument_and_values():
    f32, f64 = np.zeros((3, 4), np.float32), np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"matmul: inner dimensions differ: op\(a\) has 4 columns "
                                         r"\(a.shape=\(3, 4\)\) but op\(b\) has 3 rows \(b.shape=\(3, 4\)\)$"):
        ops.matmul(f32, f32)
    with pytest.raises(ValueError, match=r"op\(a\) has 3 columns \(a.shape=\(3, 4\), trans_a\) but op\(b\) has 4 "
                                         r"rows \(b.shape=\(4, 5\)\)"):
        ops.matmul(f32, np.zeros((4, 5), np.float32), trans_a=True)
    with pytest.raises(TypeError, match="matmul: b is float64 but a is float32"):
        ops.matmul(f32, f64)
    with pytest.raises(ValueError, match=r"matmul: b must be 1-D or more, e.g. \(\.\.\., K, N\), got a 0-D array"):
        ops.matmul(np.zeros(4), np.zeros(()))
    with pytest.raises(ValueError, match=r"matmul: batch dimensions \(2,\) of a and \(3,\) of b do not broadcast "
                                         r"\(a.shape=\(2, 3, 4\), b.shape=\(3, 4, 5\)\)"):
        ops.matmul(np.zeros((2, 3, 4)), np.zeros((3, 4, 5)))
    with pytest.raises(TypeError, match="matmul: a must be float32 or float64, got int64"):
        ops.matmul(np.zeros((3, 4), np.int64), f64)
    with pytest.raises(ValueError, match=r"matmul: out must have shape \(4, 4\)"):
        ops.matmul(f64, f64, trans_b=True, out=np.zeros((4, 5)))
    sq = np.ones((4, 4))
    with pytest.raises(ValueError, match=r"matmul: out must not overlap the inputs"):
        ops.matmul(sq, sq, out=sq)
    with pytest.raises(ValueError, match=r"linear: out must not overlap the inputs"):
        ops.linear(sq, sq, out=sq)
    with pytest.raises(ValueError, match=r"linear: w has 3 input features but x has 4 \(x.shape=\(3, 4\), "
                                         r"w.shape=\(2, 3\)\)"):
        ops.linear(f32, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"linear: b must have shape \(2,\), got \(3,\)"):
        ops.linear(f32, np.zeros((2, 4), np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"linear: w must be 2-D \(out_features, in_features\), got shape \(4,\)"):
        ops.linear(f32, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"linear_backward: grad_out must have shape \(3, 2\), got \(3, 5\)"):
        ops.linear_backward(np.zeros((3, 5), np.float32), f32, np.zeros((2, 4), np.float32))


def test_cpu_extension_checks_sizes_itself():
    """Direct calls into _cpu with inconsistent arrays raise instead of touching memory."""
    a, b = np.zeros((3, 4), np.float32), np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"gemm: out must end in \(3, 5\), got shape \(3, 4\)"):
        dk._cpu.gemm(a, b, np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"gemm: inner dimensions differ: op\(a\) is \(3, 4\) and op\(b\) is \(5, 4\)"):
        dk._cpu.gemm(a, b, np.zeros((3, 4), np.float32), False, True)
    with pytest.raises(ValueError, match="gemm: b must be float32, got float64"):
        dk._cpu.gemm(a, b.astype(np.float64), np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="gemm: a must be C-contiguous"):
        dk._cpu.gemm(np.zeros((4, 3), np.float32).T, b, np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"gemm: bias must have shape \(5,\), got \(4,\)"):
        dk._cpu.gemm(a, b, np.zeros((3, 5), np.float32), bias=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="gemm: a has batch 2 but out has 3"):
        dk._cpu.gemm(np.zeros((2, 3, 4), np.float32), b, np.zeros((3, 3, 5), np.float32))
    with pytest.raises(ValueError, match="gemm: out must be 3-D when a or b is 3-D"):
        dk._cpu.gemm(np.zeros((2, 3, 4), np.float32), b, np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"gemm: a must be 2-D or 3-D, got shape \(4,\)"):
        dk._cpu.gemm(np.zeros(4, np.float32), b, np.zeros((3, 5), np.float32))
    ro = np.zeros((3, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="gemm: out must be writable"):
        dk._cpu.gemm(a, b, ro)
    with pytest.raises(ValueError, match=r"column_sum: out must have shape \(5,\), got \(4,\)"):
        dk._cpu.column_sum(b, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="set_gemm_isa: isa must be"):
        dk._cpu.set_gemm_isa("sse9")


@pytest.mark.parametrize("isa", ISAS)
def test_kernel_name_reports_the_active_family(isa):
    with forced_isa(isa):
        name = dk._cpu.gemm_kernel_name("float32")
        name64 = dk._cpu.gemm_kernel_name("float64")
    assert name.startswith({"avx512": "avx512-fp32-", "avx2": "avx2-fp32-", "baseline": "portable-fp32-"}[isa])
    assert name64.startswith(name.split("-")[0] + "-fp64-")
    assert dk._cpu.gemm_kernel_name() == dk.info()["gemm_kernel"]


@pytest.mark.parametrize("device", [d for d in DEVICES if d.id == "cuda"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cuda_gemm_alpha_beta_bias_misaligned_and_checks(device, dtype):
    """The CUDA entry: epilogue terms, 16-byte and misaligned bases, and its own size checks."""
    xp = xp_for(device)
    ext = dk.cuda.extension()
    rng = np.random.default_rng(7)
    m, n, k = 130, 67, 33
    flat_a = rng.standard_normal(m * k + 1).astype(dtype)
    a = flat_a[1:].reshape(m, k)  # base one element past an aligned allocation
    b, c = rng.standard_normal((k, n)).astype(dtype), rng.standard_normal((m, n)).astype(dtype)
    bias = rng.standard_normal(n).astype(dtype)
    out = xp.asarray(c)
    ext.gemm(xp.asarray(flat_a)[1:].reshape(m, k), xp.asarray(b), out, False, False, 2.0, 0.5, xp.asarray(bias),
             stream=dk.cuda.current_stream_ptr())
    assert_matches_reference(out, lambda a, b, c, bias: a.dtype.type(2) * (a @ b) + a.dtype.type(0.5) * c + bias,
                             a, b, c, bias)
    nan_out = xp.full((m, n), np.nan, dtype=dtype)
    ext.gemm(xp.asarray(a), xp.asarray(b), nan_out, stream=dk.cuda.current_stream_ptr())
    assert_matches_reference(nan_out, ref.matmul, a, b)
    with pytest.raises(ValueError, match=r"gemm: out must end in \(130, 67\)"):
        ext.gemm(xp.asarray(a), xp.asarray(b), xp.empty((m, n + 1), dtype=dtype))
    with pytest.raises(ValueError, match="gemm: a must be a CUDA"):
        ext.gemm(a, xp.asarray(b), xp.empty((m, n), dtype=dtype))
    with pytest.raises(ValueError, match=r"column_sum: out must have shape \(67,\)"):
        ext.column_sum(xp.asarray(c), xp.empty(3, dtype=dtype))
