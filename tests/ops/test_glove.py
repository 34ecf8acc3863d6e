"""GloVe kernels: co-occurrence counting and the AdaGrad pass against the NumPy reference, and
their errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
from deepkern import ops, reference as ref
from deepkern.ops import glove as glove_ops
from tests.helpers import DEVICES, assert_matches_reference, to_host, xp_for


def corpus_from(rng, V, lengths):
    corpus = rng.integers(0, V, size=int(sum(lengths))).astype(np.int32)
    return corpus, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


@given(V=st.integers(1, 12), lengths=st.lists(st.integers(0, 15), min_size=1, max_size=8), window=st.integers(1, 6),
       data=st.integers(0, 2**31))
def test_cooccurrence_matches_reference(V, lengths, window, data):
    corpus, starts = corpus_from(np.random.default_rng(data), V, lengths)
    rows, cols, values = ops.glove_cooccurrence(corpus, starts, window, V)
    want = ref.glove_cooccurrence(corpus, starts, window, V)
    np.testing.assert_array_equal(rows, want[0])
    np.testing.assert_array_equal(cols, want[1])
    np.testing.assert_allclose(values, want[2], rtol=1e-12)
    assert rows.dtype == np.int32 and values.dtype == np.float64


def test_cooccurrence_in_chunks_equals_one_pass(monkeypatch):
    rng = np.random.default_rng(0)
    corpus, starts = corpus_from(rng, 300, rng.integers(1, 40, size=400))
    whole = ops.glove_cooccurrence(corpus, starts, 5, 300)
    monkeypatch.setattr(glove_ops, "_CHUNK_PAIRS", 1000)  # ~20 chunks, merged by the same sort
    chunked = ops.glove_cooccurrence(corpus, starts, 5, 300)
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # symmetric, and X[a, c] counts 1/d per co-occurrence: a two-word sentence gives exactly 1
    rows, cols, values = ops.glove_cooccurrence(np.array([4, 7, 4], np.int32), np.array([0, 2, 3]), 3, 8)
    assert list(zip(rows.tolist(), cols.tolist(), values.tolist())) == [(4, 7, 1.0), (7, 4, 1.0)]


def make_model(rng, V, D, n, dtype):
    model = [(rng.random((V, D)) - 0.5).astype(dtype) for _ in range(2)]
    model += [(rng.random(V) - 0.5).astype(dtype) for _ in range(2)]
    model += [(1 + rng.random((V, D))).astype(dtype) for _ in range(2)] + [(1 + rng.random(V)).astype(dtype)
                                                                          for _ in range(2)]
    rows = rng.integers(0, V, size=n).astype(np.int32)
    cols = rng.integers(0, V, size=n).astype(np.int32)
    x = rng.random(n) * 50 + 0.2
    return model, rows, cols, np.log(x).astype(dtype), np.minimum(1, (x / 10) ** 0.75).astype(dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(V=st.integers(1, 20), D=st.integers(1, 40), n=st.integers(0, 60), lr=st.floats(0.01, 0.1),
       data=st.integers(0, 2**31))
def test_sequential_pass_matches_reference(device, dtype, V, D, n, lr, data):
    xp = xp_for(device)
    model, rows, cols, log_x, weight = make_model(np.random.default_rng(data), V, D, n, dtype)
    dev = [xp.array(m) for m in model]
    cost, skipped = ops.glove_train(*dev, xp.asarray(rows), xp.asarray(cols), xp.asarray(log_x), xp.asarray(weight),
                                    learning_rate=lr, workers=1)

    def reference(*m):
        m = [a.copy() for a in m]
        ref.glove_train(*m, rows, cols, log_x.astype(m[0].dtype), weight.astype(m[0].dtype), lr)
        return tuple(m)

    assert_matches_reference(tuple(to_host(d) for d in dev), reference, *model)
    ref_cost, ref_skipped = ref.glove_train(*[m.copy() for m in model], rows, cols, log_x, weight, lr)
    assert skipped == ref_skipped == 0
    assert cost == pytest.approx(ref_cost, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("device", [pytest.param("cuda", marks=pytest.mark.cuda)])
@given(batch=st.integers(2, 30), data=st.integers(0, 2**31))
def test_gpu_batches_match_reference_batches(device, batch, data):
    xp = xp_for(device)
    model, rows, cols, log_x, weight = make_model(np.random.default_rng(data), 9, 17, 80, np.float64)
    dev = [xp.array(m) for m in model]
    ops.glove_train(*dev, xp.asarray(rows), xp.asarray(cols), xp.asarray(log_x), xp.asarray(weight),
                    learning_rate=0.1, workers=batch)

    def reference(*m):
        m = [a.copy() for a in m]
        ref.glove_train(*m, rows, cols, log_x.astype(m[0].dtype), weight.astype(m[0].dtype), 0.1, workers=batch)
        return tuple(m)

    assert_matches_reference(tuple(to_host(d) for d in dev), reference, *model)


def test_non_finite_pairs_are_skipped_and_threads_optimize_alike():
    """A pair with log X = inf is skipped; Hogwild threads reorder updates but reach the same
    cost as the sequential pass."""
    rng = np.random.default_rng(0)
    model, rows, cols, log_x, weight = make_model(rng, 500, 16, 6000, np.float32)
    log_x[7] = np.inf
    costs = {}
    for workers in (1, 2):
        m = [a.copy() for a in model]
        costs[workers] = [ops.glove_train(*m, rows, cols, log_x, weight, learning_rate=0.05, workers=workers)
                          for _ in range(4)]
        assert all(skipped == 1 for _, skipped in costs[workers]) and np.isfinite(m[0]).all()
    seq, par = [c for c, _ in costs[1]], [c for c, _ in costs[2]]
    assert seq[-1] < 0.5 * seq[0] and par[-1] < 0.5 * par[0]
    assert par[-1] == pytest.approx(seq[-1], rel=0.05)


def test_errors():
    rng = np.random.default_rng(0)
    model, rows, cols, log_x, weight = make_model(rng, 5, 4, 10, np.float32)
    with pytest.raises(ValueError, match=r"rows and cols must be word ids in \[0, 5\)"):
        ops.glove_train(*model, rows + 5, cols, log_x, weight)
    with pytest.raises(ValueError, match="gW must have shape"):
        ops.glove_train(*model[:4], model[4][:2], *model[5:], rows, cols, log_x, weight)
    with pytest.raises(TypeError, match="float64"):
        ops.glove_train(*model, rows, cols, log_x.astype(np.float64), weight)
    with pytest.raises(ValueError, match="weight must have shape"):
        ops.glove_train(*model, rows, cols, log_x, weight[:3])
    with pytest.raises(ValueError, match="C-contiguous and writable"):
        ops.glove_train(np.asfortranarray(model[0]), *model[1:], rows, cols, log_x, weight)
    with pytest.raises(ValueError, match=r"rows\[0\] = 9"):  # the binding re-checks what indexes memory
        bad = rows.copy()
        bad[0] = 9
        stats = np.zeros(2)
        dk._cpu.glove_train(*model, bad, cols, log_x, weight, np.empty(0, np.uint8), stats, 0.05, 1)
    corpus, starts = np.array([0, 1, 2], np.int32), np.array([0, 3])
    with pytest.raises(ValueError, match=r"corpus holds ids outside \[0, 2\)"):
        ops.glove_cooccurrence(corpus, starts, 2, vocab_size=2)
    with pytest.raises(ValueError, match="non-decreasing offsets"):
        ops.glove_cooccurrence(corpus, np.array([0, 2, 1]), 2)
    with pytest.raises(ValueError, match="window must be >= 1"):
        ops.glove_cooccurrence(corpus, starts, 0)
    with pytest.raises(ValueError, match="need room for 3 pairs"):
        dk._cpu.glove_pairs(corpus, starts, 2, 3, np.empty(2, np.int64), np.empty(2))
