"""nn.init: gains, fans and distributions as PyTorch's, reproducible under dk.manual_seed."""
import math

import numpy as np
import pytest

import deepkern as dk
from deepkern import nn
from deepkern.nn import init


def _t(*shape, dtype=np.float64):
    return nn.Parameter(np.zeros(shape, dtype))


@pytest.mark.parametrize("name, param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                         ("selu", None)])
def test_calculate_gain_equals_pytorch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


def test_calculate_gain_closed_form_and_errors():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("leaky_relu", 1.0) == 1.0
    assert init.calculate_gain("tanh") == 5 / 3
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")


@pytest.mark.parametrize("shape, fan_in, fan_out", [((30, 20), 20, 30), ((16, 8, 3, 3), 72, 144)])
def test_distributions_follow_fans(shape, fan_in, fan_out):
    dk.manual_seed(0)
    n = 1.0 / math.sqrt(np.prod(shape))  # relative sampling error scale
    t = init.kaiming_uniform_(_t(*shape), a=0, mode="fan_in", nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    assert np.abs(t.data).max() <= bound
    assert t.data.std() == pytest.approx(bound / math.sqrt(3), rel=10 * n)
    t = init.kaiming_normal_(_t(*shape), mode="fan_out")
    assert t.data.std() == pytest.approx(init.calculate_gain("leaky_relu", 0) / math.sqrt(fan_out), rel=10 * n)
    t = init.xavier_uniform_(_t(*shape), gain=2.0)
    a = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(t.data).max() <= a and t.data.std() == pytest.approx(a / math.sqrt(3), rel=10 * n)
    t = init.xavier_normal_(_t(*shape))
    assert t.data.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=10 * n)
    t = init.normal_(_t(*shape), mean=3.0, std=0.5)
    assert t.data.mean() == pytest.approx(3.0, abs=10 * n * 0.5)
    t = init.uniform_(_t(*shape), -2, -1)
    assert t.data.min() >= -2 and t.data.max() <= -1


def test_constants_keep_dtype_and_return_the_tensor():
    t = _t(3, 2, dtype=np.float32)
    assert init.constant_(t, 2.5) is t and t.dtype == np.float32 and np.all(t.data == 2.5)
    assert np.all(init.ones_(t).data == 1) and np.all(init.zeros_(t).data == 0)
    assert init.normal_(t).dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (5, 2, 3)])
def test_orthogonal(shape):
    dk.manual_seed(0)
    w = init.orthogonal_(_t(*shape), gain=1.5).data.reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] == small else w.T @ w
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match=r"orthogonal_: only tensors with 2 or more dimensions.*\(3,\)"):
        init.orthogonal_(_t(3))


def test_reproducible_and_errors():
    dk.manual_seed(3)
    a = init.kaiming_uniform_(_t(4, 4)).data.copy()
    dk.manual_seed(3)
    np.testing.assert_array_equal(a, init.kaiming_uniform_(_t(4, 4)).data)
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        init.xavier_uniform_(_t(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan'"):
        init.kaiming_normal_(_t(2, 2), mode="fan")
