import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, ops, reference as ref
from tests.helpers import DEVICES, assert_matches_reference, gradcheck, to_host, xp_for

id_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(V=st.integers(1, 12), D=st.integers(0, 17), shape=id_shapes, seed=st.integers(0, 2**31 - 1),
       pad=st.booleans())
def test_forward_backward_match_reference(device, dtype, V, D, shape, seed, pad):
    xp = xp_for(device)
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((V, D)) * 10).astype(dtype)
    ids = rng.integers(0, V, size=shape)          # small V: ids repeat, exercising the scatter-add
    grad_out = rng.standard_normal((*shape, D)).astype(dtype)
    padding_idx = int(rng.integers(0, V)) if pad else None
    out = ops.embedding(xp.asarray(weight), xp.asarray(ids))
    assert out.shape == (*shape, D) and out.dtype == dtype
    assert_matches_reference(out, ref.embedding, weight, ids)
    gw = ops.embedding_backward(xp.asarray(grad_out), xp.asarray(ids), V, padding_idx)
    assert_matches_reference(gw, ref.embedding_backward, grad_out, ids, V, padding_idx=padding_idx)


@pytest.mark.parametrize("device", DEVICES)
def test_non_contiguous_int32_ids_and_out(device):
    xp = xp_for(device)
    weight = xp.asarray(np.arange(24, dtype=np.float32).reshape(8, 3)[::2])   # (4, 3), strided rows
    ids = xp.asarray(np.array([[3, 0, 1], [2, 2, 0]], dtype=np.int32).T)       # (3, 2), transposed
    out = xp.empty((3, 2, 3), dtype=np.float32)
    assert ops.embedding(weight, ids, out=out) is out
    np.testing.assert_array_equal(to_host(out), to_host(weight)[to_host(ids)])
    g = xp.asarray(np.ones((2, 3, 3), np.float32)).transpose(1, 0, 2)
    np.testing.assert_array_equal(to_host(ops.embedding_backward(g, ids, 4)),
                                  ref.embedding_backward(to_host(g), to_host(ids), 4))


def test_backward_is_deterministic_across_thread_counts():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=20000)
    g = rng.standard_normal((20000, 64)).astype(np.float32)
    before = dk.get_num_threads()
    try:
        dk.set_num_threads(1)
        one = ops.embedding_backward(g, ids, 50)
        dk.set_num_threads(2)
        two = ops.embedding_backward(g, ids, 50)
    finally:
        dk.set_num_threads(before)
    np.testing.assert_array_equal(one, two)
    assert_matches_reference(two, ref.embedding_backward, g, ids, 50)


def test_gradcheck():
    w = np.random.default_rng(0).standard_normal((5, 3))
    ids = np.array([[0, 4, 4], [2, 0, 1]])
    gradcheck(lambda wt: F.embedding(wt, ids), w)
    gradcheck(lambda wt: F.embedding(wt, dk.Tensor(ids)) * 2.0, w)


def test_errors_name_id_and_table_size():
    w = np.zeros((5, 2), np.float32)
    with pytest.raises(ValueError, match=r"embedding: id 7 is out of range for num_embeddings=5"):
        ops.embedding(w, np.array([0, 7, 9]))
    with pytest.raises(ValueError, match=r"embedding: id -1 is out of range for num_embeddings=5"):
        ops.embedding(w, np.array([[1], [-1]]))
    with pytest.raises(TypeError, match="embedding: ids must be an integer array, got float64"):
        ops.embedding(w, np.array([1.0]))
    with pytest.raises(TypeError, match="embedding: weight must be float32 or float64, got int64"):
        ops.embedding(np.zeros((5, 2), np.int64), np.array([1]))
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D \(num_embeddings, embedding_dim\)"):
        ops.embedding(np.zeros(5, np.float32), np.array([1]))
    with pytest.raises(ValueError, match=r"embedding_backward: grad_out must have shape \(\*ids.shape, "
                                         r"embedding_dim\) = \(3, D\), got \(2, 2\)"):
        ops.embedding_backward(np.zeros((2, 2)), np.array([0, 1, 2]), 5)
    with pytest.raises(ValueError, match="embedding_backward: id 5 is out of range for num_embeddings=5"):
        ops.embedding_backward(np.zeros((1, 2)), np.array([5]), 5)
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-5, 5\), got 5"):
        ops.embedding_backward(np.zeros((1, 2)), np.array([1]), 5, padding_idx=5)


def test_functional_embedding_with_a_0d_weight_is_the_ops_error():
    """F.embedding read weight.shape[0] before checking: a 0-d weight raised IndexError."""
    for weight in (np.array(3.0, np.float32), dk.Tensor(np.array(3.0, np.float32), requires_grad=True),
                   np.zeros(5, np.float32)):
        with pytest.raises(ValueError, match=r"embedding: weight must be 2-D \(num_embeddings, embedding_dim\), "
                                             r"got shape \((5,)?\)"):
            F.embedding(weight, np.array([0]))


def test_cpu_extension_checks_ids_and_sizes_itself():
    w = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="embedding_forward: id 4 is out of range for num_embeddings=4"):
        dk._cpu.embedding_forward(w, np.array([4]), np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"embedding_forward: out must have shape \(2, 3\), got \(1, 3\)"):
        dk._cpu.embedding_forward(w, np.array([0, 1]), np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="embedding_forward: ids must be int64, got int32"):
        dk._cpu.embedding_forward(w, np.array([0], np.int32), np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"embedding_backward: grad_out must have shape \(1, 3\)"):
        dk._cpu.embedding_backward(np.zeros((1, 2), np.float32), np.array([0]), w, -1)
    with pytest.raises(ValueError, match="embedding_backward: id -2 is out of range"):
        dk._cpu.embedding_backward(np.zeros((1, 3), np.float32), np.array([-2]), w, -1)


def test_layer_init_padding_and_gradient():
    dk.manual_seed(0)
    emb = nn.Embedding(1000, 16, padding_idx=-1)
    assert emb.padding_idx == 999 and repr(emb) == "Embedding(1000, 16, padding_idx=999)"
    assert np.all(emb.weight.data[999] == 0)
    rest = emb.weight.data[:999]
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1) < 0.02      # N(0, 1) init
    ids = np.array([[1, 999, 1], [999, 3, 0]])
    out = emb(dk.Tensor(ids))
    assert out.shape == (2, 3, 16) and np.all(out.data[0, 1] == 0)
    out.sum().backward()
    g = emb.weight.grad
    assert np.all(g[999] == 0) and np.all(g[1] == 2) and np.all(g[3] == 1) and np.all(g[2] == 0)
    assert list(emb.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be in \[-3, 3\), got 3"):
        nn.Embedding(3, 2, padding_idx=3)


def test_from_pretrained_freeze_and_train():
    table = np.random.default_rng(0).standard_normal((4, 2))
    frozen = nn.Embedding.from_pretrained(table)
    assert frozen.weight.dtype == np.float64 and not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(np.array([2, 0])).data, table[[2, 0]])
    assert not frozen(np.array([1])).requires_grad
    table[0] = 5  # the layer holds a copy
    assert not np.any(frozen.weight.data == 5)
    trainable = nn.Embedding.from_pretrained(dk.Tensor(table), freeze=False, padding_idx=0)
    trainable(np.array([0, 1])).sum().backward()
    assert np.all(trainable.weight.grad.data[0] == 0) and np.all(trainable.weight.grad.data[1] == 1)
    with pytest.raises(ValueError, match=r"from_pretrained: embeddings must be a 2-D array .* got \(4,\)"):
        nn.Embedding.from_pretrained(np.zeros(4))


def test_matches_pytorch_layer():
    torch = pytest.importorskip("torch")
    table = np.random.default_rng(1).standard_normal((6, 3))
    ids = np.array([[0, 2, 2], [5, 1, 2]])
    ours = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=2)
    theirs = torch.nn.Embedding.from_pretrained(torch.from_numpy(table), freeze=False, padding_idx=2)
    g = np.random.default_rng(2).standard_normal((2, 3, 3))
    ours(ids).backward(g)
    theirs(torch.from_numpy(ids)).backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-15, atol=1e-15)
