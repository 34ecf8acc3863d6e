"""Every layer on device="cuda" computes what it computes on the CPU: forward output, input
gradient and parameter gradients, in float64 (so the two backends' summation orders differ by
~1e-15 relative, far inside the tolerance), on a GPU or on the emulated CUDA backend in CI."""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn
from tests.helpers import DEVICES, to_host, xp_for

CUDA = [d for d in DEVICES if d.id == "cuda"]

# (id, builder, input shape, input kind): "x" float input, "ids" integer ids
LAYERS = [
    ("linear", lambda: nn.Linear(7, 5), (4, 3, 7), "x"),
    ("conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 8), "x"),
    ("conv2d_groups_dilation", lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 7, 7), "x"),
    ("max_pool2d", lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 9, 7), "x"),
    ("avg_pool2d", lambda: nn.AvgPool2d(2), (2, 3, 8, 6), "x"),
    ("adaptive_avg_pool2d", lambda: nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5), "x"),
    ("batch_norm2d_train", lambda: nn.BatchNorm2d(3), (4, 3, 5, 5), "x"),
    ("batch_norm2d_eval", lambda: nn.BatchNorm2d(3).eval(), (4, 3, 5, 5), "x"),
    ("batch_norm1d", lambda: nn.BatchNorm1d(6), (8, 6), "x"),
    ("relu", lambda: nn.ReLU(), (5, 9), "x"),
    ("leaky_relu", lambda: nn.LeakyReLU(0.2), (5, 9), "x"),
    ("sigmoid", lambda: nn.Sigmoid(), (5, 9), "x"),
    ("tanh", lambda: nn.Tanh(), (5, 9), "x"),
    ("softmax", lambda: nn.Softmax(dim=1), (5, 9, 3), "x"),
    ("log_softmax", lambda: nn.LogSoftmax(dim=-1), (5, 9), "x"),
    ("dropout", lambda: nn.Dropout(0.3), (6, 40), "x"),
    ("embedding", lambda: nn.Embedding(10, 6, padding_idx=2), (4, 5), "ids"),
    ("rnn_relu", lambda: nn.RNN(5, 6, nonlinearity="relu"), (7, 3, 5), "x"),
    ("gru_bidirectional", lambda: nn.GRU(5, 6, num_layers=2, bidirectional=True), (7, 3, 5), "x"),
    ("lstm_batch_first", lambda: nn.LSTM(5, 6, num_layers=2, batch_first=True), (3, 7, 5), "x"),
    ("gru_cell", lambda: nn.GRUCell(5, 6), (3, 5), "x"),
    ("lstm_cell", lambda: nn.LSTMCell(5, 6), (3, 5), "x"),
]


def _run(device, build, shape, kind):
    """Forward + backward of a seeded layer on `device`: the output, the input gradient and the
    parameter gradients, on the host."""
    xp = xp_for(device)
    dk.manual_seed(0)
    layer = build().double().to(device)
    rng = np.random.default_rng(1)
    if kind == "ids":
        x = dk.Tensor(xp.asarray(rng.integers(0, 10, shape)))
    else:
        x = dk.Tensor(xp.asarray(rng.standard_normal(shape)), requires_grad=True)
    dk.manual_seed(2)  # dropout masks
    out = layer(x)
    outs = out if isinstance(out, tuple) else (out,)
    outs = [o for part in outs for o in (part if isinstance(part, tuple) else (part,))]
    total = None
    for k, o in enumerate(outs):
        v = xp.asarray(np.random.default_rng(10 + k).standard_normal(o.shape))
        term = (o * dk.Tensor(v)).sum()
        total = term if total is None else total + term
    total.backward()
    grads = {name: to_host(p.grad) for name, p in layer.named_parameters()}
    if kind == "x":
        grads["input"] = to_host(x.grad)
    return [to_host(o.data) for o in outs], grads, {k: to_host(v) for k, v in layer.state_dict().items()}


@pytest.mark.parametrize("device", CUDA)
@pytest.mark.parametrize("name, build, shape, kind", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_forward_backward_equal_cpu(device, name, build, shape, kind):
    outs_cpu, grads_cpu, state_cpu = _run("cpu", build, shape, kind)
    outs_cuda, grads_cuda, state_cuda = _run(device, build, shape, kind)
    assert len(outs_cuda) == len(outs_cpu)
    for o_cuda, o_cpu in zip(outs_cuda, outs_cpu):
        np.testing.assert_allclose(o_cuda, o_cpu, rtol=1e-10, atol=1e-12)
    assert grads_cuda.keys() == grads_cpu.keys()
    for k in grads_cpu:
        np.testing.assert_allclose(grads_cuda[k], grads_cpu[k], rtol=1e-10, atol=1e-12, err_msg=k)
    for k in state_cpu:  # BatchNorm's running statistics
        np.testing.assert_allclose(state_cuda[k], state_cpu[k], rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("device", CUDA)
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_equal_cpu(device, loss, reduction):
    results = []
    for dev in ("cpu", device):
        xp = xp_for(dev)
        rng = np.random.default_rng(3)
        if loss in ("cross_entropy", "nll_loss"):
            a = rng.standard_normal((6, 5))
            if loss == "nll_loss":
                a = a - np.log(np.exp(a).sum(1, keepdims=True))
            b = xp.asarray(rng.integers(0, 5, 6))
        elif loss == "binary_cross_entropy":
            a, b = rng.uniform(0.05, 0.95, (6, 5)), xp.asarray(rng.uniform(0, 1, (6, 5)))
        else:
            a, b = rng.standard_normal((6, 5)), xp.asarray(rng.standard_normal((6, 5)))
        x = dk.Tensor(xp.asarray(a), requires_grad=True)
        out = getattr(F, loss)(x, b, reduction=reduction)
        out.sum().backward() if reduction == "none" else out.backward()
        results.append((to_host(out.data), to_host(x.grad)))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("device", CUDA)
@pytest.mark.parametrize("causal, masked", [(False, False), (True, False), (False, True)])
def test_attention_equals_cpu(device, causal, masked):
    results = []
    for dev in ("cpu", device):
        xp = xp_for(dev)
        rng = np.random.default_rng(4)
        q, k, v = (dk.Tensor(xp.asarray(rng.standard_normal(s)), requires_grad=True)
                   for s in [(2, 3, 5, 8), (2, 3, 6, 8), (2, 3, 6, 4)])
        mask = xp.asarray(rng.uniform(size=(5, 6)) > 0.3) if masked else None
        out = F.scaled_dot_product_attention(q, k, v, mask=mask, causal=causal)
        (out * dk.Tensor(xp.asarray(rng.standard_normal(out.shape)))).sum().backward()
        results.append([to_host(t) for t in (out.data, q.grad, k.grad, v.grad)])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
