import numpy as np
import pytest

import deepkern as dk
import deepkern.nn as nn

torch = pytest.importorskip("torch", reason="PyTorch comparisons need torch")
tF = torch.nn.functional


def _grads(module, x):
    xt = dk.Tensor(x, requires_grad=True)
    y = module(xt)
    g = np.random.default_rng(9).standard_normal(y.shape).astype(x.dtype)
    y.backward(g)
    return y.data, g, xt.grad


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")  # torch's own note
@pytest.mark.parametrize("kwargs", [
    dict(in_channels=3, out_channels=8, kernel_size=3, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=(2, 1), dilation=(1, 2), groups=2, bias=False),
    dict(in_channels=5, out_channels=5, kernel_size=4, padding="same", groups=5),
    dict(in_channels=6, out_channels=4, kernel_size=1),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid", stride=3),
])
def test_conv2d_layer_matches_torch(kwargs):
    dk.manual_seed(0)
    layer = nn.Conv2d(**kwargs, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, kwargs["in_channels"], 9, 10))
    y, g, gx = _grads(layer, x)
    tl = torch.nn.Conv2d(**kwargs, dtype=torch.float64)
    tl.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    xt = torch.from_numpy(x).requires_grad_()
    yt = tl(xt)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, tl.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    if layer.bias is not None:
        np.testing.assert_allclose(layer.bias.grad, tl.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert repr(layer) == repr(tl)
    assert list(layer.state_dict()) == list(tl.state_dict())


@pytest.mark.parametrize("make, tmake", [
    (lambda: nn.MaxPool2d(3, 2, 1), lambda: torch.nn.MaxPool2d(3, 2, 1)),
    (lambda: nn.MaxPool2d((2, 3)), lambda: torch.nn.MaxPool2d((2, 3))),
    (lambda: nn.AvgPool2d(3, 2, 1), lambda: torch.nn.AvgPool2d(3, 2, 1)),
    (lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False), lambda: torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
    (lambda: nn.AdaptiveAvgPool2d(1), lambda: torch.nn.AdaptiveAvgPool2d(1)),
    (lambda: nn.AdaptiveAvgPool2d((3, 4)), lambda: torch.nn.AdaptiveAvgPool2d((3, 4))),
])
def test_pool_layers_match_torch(make, tmake):
    x = np.random.default_rng(2).standard_normal((2, 3, 11, 9))
    layer, tl = make(), tmake()
    y, g, gx = _grads(layer, x)
    xt = torch.from_numpy(x).requires_grad_()
    yt = tl(xt)
    yt.backward(torch.from_numpy(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert repr(layer) == repr(tl)


def test_max_pool_indices_match_torch():
    x = np.round(np.random.default_rng(3).standard_normal((2, 3, 12, 13)) * 2).astype(np.float32)
    y, idx = dk.ops.max_pool2d_with_indices(x, 3, 2, 1)
    yt, it = tF.max_pool2d(torch.from_numpy(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(y, yt.numpy())
    np.testing.assert_array_equal(idx, it.numpy())


def test_conv2d_layer_float32_matches_torch():
    dk.manual_seed(4)
    layer = nn.Conv2d(16, 32, 3, stride=2, padding=1)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    x = np.random.default_rng(5).standard_normal((4, 16, 15, 15)).astype(np.float32)
    with dk.no_grad():
        y = layer(dk.Tensor(x)).data
    yt = tF.conv2d(torch.from_numpy(x), torch.from_numpy(layer.weight.data), torch.from_numpy(layer.bias.data),
                   stride=2, padding=1)
    np.testing.assert_allclose(y, yt.numpy(), rtol=1e-4, atol=1e-5)


def test_conv2d_default_init_is_pytorchs():
    dk.manual_seed(6)
    layer = nn.Conv2d(8, 64, 5, groups=2)
    bound = 1 / np.sqrt(4 * 5 * 5)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.9 * bound       # spread over the whole interval
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.05 * bound


def test_conv2d_layer_errors_name_layer_and_shapes():
    layer = nn.Conv2d(3, 16, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 16, kernel_size=\(3, 3\)\): input has 4 channels, expected 3 "
                                         r"\(input shape \(8, 4, 32, 32\)\)"):
        layer(dk.Tensor(np.zeros((8, 4, 32, 32), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 16, kernel_size=\(3, 3\)\): expected a 4-D"):
        layer(dk.Tensor(np.zeros((32, 32), np.float32)))
    with pytest.raises(ValueError, match=r"Conv2d: groups=2 must divide in_channels=3 and out_channels=16"):
        nn.Conv2d(3, 16, 3, groups=2)
    with pytest.raises(ValueError, match=r"Conv2d: padding='same' needs stride 1"):
        nn.Conv2d(3, 16, 3, padding="same", stride=2)
    with pytest.raises(TypeError, match=r"Conv2d\(3, 16, kernel_size=\(3, 3\)\): input is float64 but the weights "
                                        r"are float32"):
        layer(dk.Tensor(np.zeros((1, 3, 8, 8))))
    with pytest.raises(ValueError, match=r"Conv2d: out_channels must be a positive int, got 0"):
        nn.Conv2d(3, 0, 3)


def test_conv_pool_stack_learns():
    """A tiny conv net fits a fixed batch: the loss falls by a large factor with plain SGD."""
    dk.manual_seed(7)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((16, 1, 10, 10)).astype(np.float32)
    target = (x[:, :, 2:8, 2:8].mean(axis=(1, 2, 3)) > 0).astype(np.float32)  # a spatial pattern
    conv1, conv2 = nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 8, 3)
    head = nn.Conv2d(8, 1, 1)
    params = [p for m in (conv1, conv2, head) for p in m.parameters()]

    def loss_fn():
        h = nn.MaxPool2d(2)(dk.functional.relu(conv1(dk.Tensor(x))))
        h = nn.AdaptiveAvgPool2d(1)(dk.functional.relu(conv2(h)))
        out = head(h).reshape(16)
        diff = out - dk.Tensor(target)
        return (diff * diff).mean()

    first = loss_fn().item()
    for _ in range(40):
        for p in params:
            p.grad = None
        loss = loss_fn()
        loss.backward()
        for p in params:
            p.data -= 0.2 * p.grad
    assert loss_fn().item() < 0.5 * first
