"""The Tensor and package API a PyTorch user types without thinking: size() / size(dim), dim=
and keepdim= wherever axis= is, argmax/argmin, tolist, item, grad as a Tensor, tensor creation,
load_state_dict's result, dk.save(model) refused, summary, lazy subpackages, a clean dir(dk)."""
import subprocess
import sys

import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from tests.helpers import gradcheck


def test_size_shape_numel_dim():
    t = dk.Tensor(np.zeros((2, 3, 4), np.float32))
    assert t.size() == (2, 3, 4) == t.shape
    assert t.size(0) == 2 and t.size(-1) == 4 and t.size(dim=1) == 3
    assert t.size == 24 == t.numel()          # NumPy's element count is still there
    assert t.dim() == 3 == t.ndim
    with pytest.raises(IndexError, match=r"size: dim 3 is out of range for a 3-D tensor of shape \(2, 3, 4\)"):
        t.size(3)


def test_dim_and_keepdim_wherever_axis_is():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 5))
    t = dk.Tensor(a)
    np.testing.assert_allclose(t.sum(dim=1).numpy(), a.sum(axis=1))
    np.testing.assert_allclose(t.sum(dim=(0, 2), keepdim=True).numpy(), a.sum(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(t.mean(dim=-1).numpy(), a.mean(axis=-1))
    np.testing.assert_allclose(F.softmax(t, dim=1).numpy(), F.softmax(t, axis=1).numpy())
    np.testing.assert_allclose(F.log_softmax(t, dim=0).numpy(), F.log_softmax(t, 0).numpy())
    assert F.cat([t, t], dim=2).shape == (3, 4, 10) and F.stack([t, t], dim=1).shape == (3, 2, 4, 5)
    assert [p.shape for p in F.split(t, 2, dim=1)] == [(3, 2, 5), (3, 2, 5)]
    assert len(F.chunk(t, 3, dim=2)) == 3 and t.unsqueeze(dim=0).shape == (1, 3, 4, 5)
    assert F.squeeze(t[:1], dim=0).shape == (4, 5)
    with pytest.raises(TypeError, match=r"sum: got axis=0 and dim=1; give one"):
        F.sum(t, axis=0, dim=1)


def test_max_min_with_dim_return_values_and_indices_as_torch():
    a = np.array([[1.0, 5.0, 5.0], [7.0, 2.0, 3.0]])
    t = dk.Tensor(a, requires_grad=True)
    values, indices = t.max(dim=1)
    np.testing.assert_array_equal(values.numpy(), [5, 7])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    out = t.min(dim=0, keepdim=True)
    assert out.values.shape == (1, 3) and out.indices.dtype == np.int64
    values.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(t.max(axis=1).numpy(), [5, 7])     # NumPy's axis=: the values
    assert t.argmax().item() == 3 and t.argmin(dim=1).tolist() == [0, 1]
    assert F.argmax(t, dim=1, keepdim=True).shape == (2, 1) and t.argmax(1).dtype == np.int64


def test_transpose_swaps_two_dims_as_torch_and_permute_permutes():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = dk.Tensor(a)
    assert t.transpose(0, 2).shape == (4, 3, 2) and t.transpose(-1, -2).shape == (2, 4, 3)
    np.testing.assert_array_equal(dk.Tensor(a[0]).transpose(0, 1).numpy(), a[0].T)   # not NumPy's identity
    assert t.permute(2, 0, 1).shape == (4, 2, 3) and t.transpose(1, 0, 2).shape == (3, 2, 4)
    gradcheck(lambda x: x.transpose(0, 2) * 2.0, a)


def test_tolist_item_float_clone():
    t = dk.Tensor(np.array([[1.5, 2.0]], np.float32), requires_grad=True)
    assert t.tolist() == [[1.5, 2.0]] and t[0, 1].item() == 2.0 and float(t[0, 0]) == 1.5 and int(t[0, 1]) == 2
    c = t.clone()
    c.sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[1, 1]])
    assert np.asarray(t).dtype == np.float32


def test_grad_is_a_tensor_sharing_the_gradient():
    """p.grad.data, p.grad.zero_(), p.data = p.data - lr * p.grad: PyTorch's idioms work."""
    p = dk.nn.Parameter(np.ones(3, np.float32))
    (p * 2.0).sum().backward()
    assert isinstance(p.grad, dk.Tensor) and not p.grad.requires_grad
    np.testing.assert_array_equal(p.grad.data, [2, 2, 2])
    p.data = p.data - 0.5 * p.grad          # a Tensor assigned to .data stores its array
    assert isinstance(p.data, np.ndarray)
    np.testing.assert_array_equal(p.data, [0, 0, 0])
    p.grad.data *= 3
    np.testing.assert_array_equal(p.grad.numpy(), [6, 6, 6])
    p.grad.zero_()
    np.testing.assert_array_equal(p.grad.numpy(), [0, 0, 0])
    opt = dk.optim.SGD([p], lr=1.0)
    (p * 1.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(p.data, [-1, -1, -1])


def test_tensor_creation_functions():
    assert dk.tensor([1.0, 2.0]).dtype == np.float32 and dk.tensor([1, 2]).dtype == np.int64
    assert dk.tensor(np.zeros(2)).dtype == np.float64 and dk.tensor(3.0, requires_grad=True).requires_grad
    a = np.arange(3.0)
    t = dk.tensor(a)
    a[0] = 9
    assert t.tolist() == [0, 1, 2]                    # tensor copies
    s = dk.from_numpy(a)
    a[1] = 7
    assert s.tolist() == [9, 7, 2]                    # from_numpy shares
    assert dk.zeros(2, 3).shape == (2, 3) == dk.ones((2, 3)).shape and dk.zeros(2).dtype == np.float32
    assert dk.ones(2, dtype=np.float64).dtype == np.float64
    dk.manual_seed(5)
    r1 = dk.randn(4, 2).numpy()
    dk.manual_seed(5)
    np.testing.assert_array_equal(dk.randn(4, 2).numpy(), r1)
    u = dk.rand(1000).numpy()
    assert u.dtype == np.float32 and 0 <= u.min() and u.max() < 1
    assert dk.arange(5).tolist() == [0, 1, 2, 3, 4] and dk.arange(5).dtype == np.int64
    assert dk.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75] and dk.arange(0.0, 1.0).dtype == np.float32
    with pytest.raises(TypeError, match="from_numpy: expected a NumPy array, got list"):
        dk.from_numpy([1, 2])
    with pytest.raises(ValueError, match=r"zeros: sizes must be integers >= 0, got \(2, -1\)"):
        dk.zeros(2, -1)


def test_load_state_dict_reports_missing_and_unexpected_keys():
    net = dk.nn.Sequential(dk.nn.Linear(2, 3), dk.nn.Linear(3, 1))
    state = dict(net.state_dict())
    extra = state.pop("1.bias")
    state["2.weight"] = extra
    with pytest.raises(KeyError, match=r"missing keys \['1.bias'\], unexpected keys \['2.weight'\]"):
        net.load_state_dict(state)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["1.bias"] and result.unexpected_keys == ["2.weight"]
    missing, unexpected = net.load_state_dict(net.state_dict())
    assert missing == [] and unexpected == []


def test_saving_a_model_object_is_refused_with_the_way_to_do_it(tmp_path):
    model = dk.nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"dk.save: obj is a Linear object; save its state instead: "
                                        r"dk.save\(model.state_dict\(\), path\)"):
        dk.save(model, tmp_path / "m.dk")
    with pytest.raises(TypeError, match=r"dk.save: obj\['opt'\] is a SGD object"):
        dk.save({"opt": dk.optim.SGD(model.parameters(), lr=0.1)}, tmp_path / "m.dk")
    assert not (tmp_path / "m.dk").exists()


def test_summary_table():
    from deepkern.models import LeNet
    model = LeNet(num_classes=10)
    model.train()
    s = dk.summary(model, (2, 1, 28, 28))
    text = str(s)
    assert s.total_params == 61706 == s.trainable_params and s.output_shape == (2, 10)
    assert "Layer (type)" in text and "Output Shape" in text and "Total params: 61,706" in text
    convs = [r for r in s.rows if r[1] == "Conv2d"]
    assert [r[2] for r in convs] == [(2, 6, 28, 28), (2, 16, 10, 10)] and convs[0][3] == 156
    assert model.training and "forward" not in vars(model.features[0])  # mode and layers restored
    with pytest.raises(TypeError, match="summary: model must be a deepkern.nn.Module, got str"):
        dk.summary("LeNet", (1, 1, 28, 28))


def test_subpackages_load_on_first_use_and_dir_is_clean():
    code = ("import deepkern as dk; print(dk.data.DataLoader.__name__, dk.models.LeNet.__name__, dk.train.fit.__name__);"
            "print(sorted(n for n in dir(dk) if n in ('annotations', 'PackageNotFoundError', 'version')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["DataLoader LeNet fit", "[]"]
    names = dir(dk)
    for name in ("tensor", "zeros", "summary", "data", "nn", "optim", "__version__"):
        assert name in names
    with pytest.raises(AttributeError, match="module 'deepkern' has no attribute 'nope'"):
        dk.nope


def test_softmax_dtype_casts_first():
    x = dk.Tensor(np.array([[1.0, 2.0, 3.0]], np.float32), requires_grad=True)
    y = F.softmax(x, dim=-1, dtype=np.float64)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert F.log_softmax(x, dtype=np.float64).dtype == np.float64
    assert dk.ops.softmax(x.data, dtype=np.float64).dtype == np.float64


def test_comparisons_are_elementwise_and_tensors_stay_hashable():
    t = dk.Tensor(np.array([0.0, 1.0, 2.0]))
    assert (t == 1).tolist() == [False, True, False] and (t > 0).tolist() == [False, True, True]
    assert (t <= dk.Tensor(np.ones(3))).tolist() == [True, True, False] and (t != 0).dtype == np.bool_
    assert bool(t[1] == 1) and {t: 1}[t] == 1 and t in {t}
    with pytest.raises(ValueError, match=r"the truth value of a Tensor of shape \(3,\) is ambiguous"):
        bool(t == 1)
