"""Linear, Identity, Flatten, activation layers and the containers."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, reference as ref
from tests.helpers import assert_matches_reference, gradcheck


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(lead=st.lists(st.integers(0, 4), min_size=1, max_size=3), fin=st.integers(1, 9),
       fout=st.integers(1, 9), bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_linear_matches_reference(dtype, lead, fin, fout, bias, seed):
    dk.manual_seed(seed)
    layer = nn.Linear(fin, fout, bias=bias, dtype=dtype)
    x = np.random.default_rng(seed).standard_normal((*lead, fin)).astype(dtype)
    y = layer(dk.Tensor(x))
    assert y.shape == (*lead, fout) and y.dtype == dtype
    b = layer.bias.data if bias else None
    assert_matches_reference(y.data.reshape(-1, fout), ref.linear, x.reshape(-1, fin), layer.weight.data, b)


def test_linear_gradients_and_pytorch_init_bounds():
    dk.manual_seed(0)
    layer = nn.Linear(50, 40).double()
    bound = 1 / math.sqrt(50)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    small = nn.Linear(3, 2).double()
    x = np.random.default_rng(1).standard_normal((4, 3))
    gradcheck(lambda xt, w, b: F.linear(xt, w, b), x, small.weight.data, small.bias.data)


def test_linear_init_is_reproducible_with_manual_seed():
    dk.manual_seed(7)
    a = nn.Linear(5, 4)
    dk.manual_seed(7)
    b = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, nn.Linear(5, 4).weight.data)


def test_linear_errors_name_the_layer_and_shapes():
    layer = nn.Linear(4, 2)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4, out_features=2, bias=True\): input has 3 "
                                         r"features, expected 4 \(input shape \(8, 3\)\)"):
        layer(dk.Tensor(np.zeros((8, 3), np.float32)))
    with pytest.raises(TypeError, match=r"input is float64 but the weights are float32"):
        layer(dk.Tensor(np.zeros((8, 4))))
    with pytest.raises(ValueError, match="in_features and out_features must be >= 0"):
        nn.Linear(-1, 2)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert list(nn.Linear(3, 2, bias=False).state_dict()) == ["weight"]
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64


def test_identity_and_flatten():
    x = dk.Tensor(np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5), requires_grad=True)
    assert nn.Identity()(x) is x
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    nn.Flatten()(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(x.shape))
    assert nn.Flatten()(dk.Tensor(np.zeros((0, 3, 2)))).shape == (0, 6)


@pytest.mark.parametrize("layer, fn", [(nn.ReLU(), F.relu), (nn.LeakyReLU(0.2), lambda t: F.leaky_relu(t, 0.2)),
                                       (nn.Sigmoid(), F.sigmoid), (nn.Tanh(), F.tanh)])
def test_activation_layers_equal_functional(layer, fn):
    x = dk.Tensor(np.random.default_rng(0).standard_normal((3, 4)))
    np.testing.assert_array_equal(layer(x).data, fn(x).data)


def test_activation_reprs():
    assert repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    with pytest.raises(TypeError, match="LeakyReLU: negative_slope must be a real number"):
        nn.LeakyReLU("x")


def test_sequential_indexing_slicing_append():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    assert [n for n, _ in head.named_children()] == ["1", "2"]  # slices keep names, as PyTorch
    with pytest.raises(IndexError, match="index 3 is out of range for length 3"):
        seq[3]
    with pytest.raises(TypeError, match="indices must be integers or slices, got str"):
        seq["0"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = dk.Tensor(np.ones((5, 2), np.float32))
    np.testing.assert_array_equal(seq(x).data, F.sigmoid(layers[2](F.relu(layers[0](x)))).data)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2)).extend([nn.Linear(2, 2)])
    ml.insert(0, nn.Tanh())
    assert len(ml) == 4 and isinstance(ml[0], nn.Tanh) and ml[-1].out_features == 2
    assert list(ml.state_dict())[:2] == ["1.weight", "1.bias"]
    ml[0] = nn.ReLU()
    assert isinstance(ml[0], nn.ReLU) and isinstance(ml[1:], nn.ModuleList) and len(ml[1:]) == 3
    with pytest.raises(NotImplementedError, match="ModuleList has no forward"):
        ml(1)
    md = nn.ModuleDict({"enc": nn.Linear(2, 2)})
    md["dec"] = nn.Linear(2, 1)
    assert list(md) == ["enc", "dec"] and "dec" in md and len(md) == 2
    assert list(md.keys()) == ["enc", "dec"] and md["dec"].out_features == 1
    assert [k for k, _ in md.items()] == ["enc", "dec"] and len(list(md.values())) == 2
    del md["enc"]
    assert list(md.state_dict()) == ["dec.weight", "dec.bias"]
