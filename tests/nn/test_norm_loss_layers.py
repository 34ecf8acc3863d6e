import numpy as np
import pytest

import deepkern as dk
import deepkern.nn as nn
from deepkern import reference as ref
from tests.helpers import assert_matches_reference


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)  # correctness only; no thread start-up on a busy machine
    return torch


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("layer,shape", [("BatchNorm2d", (6, 3, 5, 4)), ("BatchNorm1d", (7, 4)),
                                         ("BatchNorm1d", (5, 4, 6))])
def test_batchnorm_follows_pytorch_over_several_steps(layer, shape, momentum):
    torch = _torch()
    c = shape[1]
    ours = getattr(nn, layer)(c, momentum=momentum).double()
    theirs = getattr(torch.nn, layer)(c, momentum=momentum).double()
    rng = np.random.default_rng(0)
    w, b = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    ours.load_state_dict({**ours.state_dict(), "weight": w, "bias": b})
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + step
        g = rng.standard_normal(shape)
        xt = dk.Tensor(x, requires_grad=True)
        y = ours(xt)
        (y * dk.Tensor(g)).sum().backward()
        xtt = torch.tensor(x, requires_grad=True)
        yt = theirs(xtt)
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(xt.grad, xtt.grad.numpy(), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(ours.bias.grad, theirs.bias.grad.numpy(), rtol=1e-9, atol=1e-10)
        ours.zero_grad()
        theirs.zero_grad()
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(ours.state_dict()[name], theirs.state_dict()[name].numpy(), rtol=1e-12)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == step + 1
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(dk.Tensor(x)).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-10,
                               atol=1e-12)


def test_batchnorm_state_dict_matches_pytorch_names_and_loads_theirs():
    torch = _torch()
    theirs = torch.nn.BatchNorm2d(5)
    theirs(torch.randn(4, 5, 3, 3))
    ours = nn.BatchNorm2d(5)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert ours.num_batches_tracked.dtype == np.int64 and ours.num_batches_tracked.shape == ()
    np.testing.assert_array_equal(ours.running_var, theirs.running_var.numpy())


def test_batchnorm_without_tracking_or_affine():
    x = np.random.default_rng(1).standard_normal((6, 3, 2, 2)).astype(np.float32) * 3 + 2
    bn = nn.BatchNorm2d(3, affine=False, track_running_stats=False).eval()
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    y = bn(dk.Tensor(x)).data  # no running stats: batch statistics even in eval
    assert_matches_reference((y,), lambda a: (ref.batch_norm(a, None, None, training=True)[0],), x)
    assert "affine=False" in repr(bn)


def test_batchnorm_errors_name_layer_and_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected input \(N, C, H, W\), got shape \(4, 3\)"):
        nn.BatchNorm2d(3)(dk.Tensor(np.zeros((4, 3), np.float32)))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): input has 5 channels, expected 3 \(x.shape=\(4, 5\)\)"):
        nn.BatchNorm1d(3)(dk.Tensor(np.zeros((4, 5), np.float32)))
    with pytest.raises(ValueError, match=r"expected more than 1 value per channel when training, got x of shape \(1, 3\)"):
        nn.BatchNorm1d(3)(dk.Tensor(np.zeros((1, 3), np.float32)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_layers_follow_pytorch(reduction):
    torch = _torch()
    tf = torch.nn.functional
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 5, 3)) * 3
    target = rng.integers(0, 5, (6, 3))
    target[0, 1] = 2
    weight = rng.uniform(0.5, 2, 5)
    p = rng.uniform(0.01, 0.99, (6, 5))
    y01 = (rng.random((6, 5)) < 0.5).astype(np.float64)
    pos = rng.uniform(0.5, 3, 5)
    cases = [
        (nn.CrossEntropyLoss(weight, ignore_index=2, reduction=reduction), logits, target,
         lambda a, t: tf.cross_entropy(a, t, torch.from_numpy(weight), ignore_index=2, reduction=reduction)),
        (nn.NLLLoss(weight, reduction=reduction), logits, target,
         lambda a, t: tf.nll_loss(a, t, torch.from_numpy(weight), reduction=reduction)),
        (nn.MSELoss(reduction=reduction), p, y01, lambda a, t: tf.mse_loss(a, t, reduction=reduction)),
        (nn.BCELoss(weight, reduction=reduction), p, y01,
         lambda a, t: tf.binary_cross_entropy(a, t, torch.from_numpy(weight), reduction=reduction)),
        (nn.BCEWithLogitsLoss(weight, reduction=reduction, pos_weight=pos), logits[:, :, 0] * 10, y01,
         lambda a, t: tf.binary_cross_entropy_with_logits(a, t, torch.from_numpy(weight), reduction=reduction,
                                                          pos_weight=torch.from_numpy(pos))),
    ]
    for layer, x, t, torch_fn in cases:
        xt = dk.Tensor(x, requires_grad=True)
        loss = layer(xt, t)
        g = rng.standard_normal(loss.shape)
        (loss * dk.Tensor(g)).sum().backward()
        xtt = torch.tensor(x, requires_grad=True)
        lt = torch_fn(xtt, torch.from_numpy(t))
        lt.backward(torch.from_numpy(np.asarray(g)))
        name = type(layer).__name__
        np.testing.assert_allclose(loss.data, lt.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(xt.grad, xtt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_loss_layer_buffers_and_errors():
    w = np.ones(4, np.float32)
    assert list(nn.CrossEntropyLoss(w).state_dict()) == ["weight"]
    assert list(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]
    assert list(nn.MSELoss().state_dict()) == []
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: cross_entropy: target must have shape \(4,\) to match "
                                         r"logits of shape \(4, 5\), got \(4, 1\)"):
        nn.CrossEntropyLoss()(dk.Tensor(np.zeros((4, 5), np.float32)), np.zeros((4, 1), np.int64))
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be 'none', 'mean' or 'sum', got 'avg'"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match=r"NLLLoss: nll_loss: target contains label 5 outside \[0, 5\)"):
        nn.NLLLoss()(dk.Tensor(np.zeros((2, 5), np.float32)), np.array([5, 0]))


def test_mlp_with_batchnorm_dropout_and_cross_entropy_learns():
    """Seeded, about a second: a BatchNorm1d + Dropout MLP fits 3 Gaussian blobs."""
    dk.manual_seed(0)
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((3, 8)) * 2.5
    labels = rng.integers(0, 3, 600)
    x = (centers[labels] + rng.standard_normal((600, 8))).astype(np.float32)
    model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
    opt = dk.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    first = None
    for step in range(60):
        idx = rng.integers(0, 500, 64)
        loss = loss_fn(model(dk.Tensor(x[idx])), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    model.eval()
    with dk.no_grad():
        held_out = model(dk.Tensor(x[500:])).data.argmax(axis=1)
    assert loss.item() < 0.5 * first
    assert (held_out == labels[500:]).mean() > 0.9
    assert int(model[1].num_batches_tracked) == 60
