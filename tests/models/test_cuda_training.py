"""A few training steps on device="cuda" equal the same steps on the CPU, for three models that
between them use most of the CUDA kernels: LeNet (conv, pooling, linear, ReLU, cross-entropy,
Adam), a GRU character model (embedding, the RNN engine, linear, SGD with momentum, gradient
clipping) and the YOLO head (conv, BatchNorm, leaky ReLU, max pooling, the YOLO loss, NMS
decoding). They run on a GPU, or on the emulated CUDA backend in CI (docs/cuda_emu.md).

Tolerances: float64 models, so both backends' rounding (different summation orders, ~1e-16
relative per op) stays far below the tolerance after a few steps, while a wrong kernel is off by
orders of magnitude more; the float32 LeNet run checks the float32 kernels at the float32 rule's
scale (a few thousand ulps after three Adam steps of accumulated reordering).
"""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import nn, optim
from deepkern.models import YOLO, CharRNN, LeNet
from tests.helpers import DEVICES, to_host, xp_for

CUDA = [d for d in DEVICES if d.id == "cuda"]


def _train(device, build, batches, loss_fn, make_opt, dtype, clip=None):
    """Builds the model on the CPU (same seed, same weights), moves it to `device`, runs one
    optimizer step per batch; returns the losses and the final state_dict on the host."""
    xp = xp_for(device)
    dk.manual_seed(0)
    model = build()
    model = model.double() if dtype == np.float64 else model
    model.to(device)
    opt = make_opt(model.parameters())
    losses = []
    for x, y in batches:
        x = xp.asarray(x.astype(dtype)) if x.dtype.kind == "f" else xp.asarray(x)
        loss = loss_fn(model, dk.Tensor(x), y if isinstance(y, list) else xp.asarray(y))
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(float(loss.item()))
    return model, losses, {k: to_host(v) for k, v in model.state_dict().items()}


def _assert_same_training(cpu, cuda, rtol, atol):
    _, loss_cpu, state_cpu = cpu
    _, loss_cuda, state_cuda = cuda
    np.testing.assert_allclose(loss_cuda, loss_cpu, rtol=rtol, atol=atol)
    assert state_cuda.keys() == state_cpu.keys()
    for k in state_cpu:
        np.testing.assert_allclose(state_cuda[k], state_cpu[k], rtol=rtol, atol=atol, err_msg=k)
    assert loss_cpu[-1] < loss_cpu[0], "the steps should reduce the loss on a fixed batch"


@pytest.mark.parametrize("device", CUDA)
@pytest.mark.parametrize("dtype, rtol, atol", [(np.float64, 1e-9, 1e-11), (np.float32, 2e-3, 2e-5)])
def test_lenet_steps_equal_cpu(device, dtype, rtol, atol):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 8)
    args = (lambda: LeNet(), [(x, y)] * 3, lambda m, x, y: F.cross_entropy(m(x), y),
            lambda p: optim.Adam(p, lr=1e-3), dtype)
    _assert_same_training(_train("cpu", *args), _train(device, *args), rtol, atol)


@pytest.mark.parametrize("device", CUDA)
def test_gru_language_model_steps_equal_cpu(device):
    rng = np.random.default_rng(1)
    V, B, T = 11, 3, 7
    ids = rng.integers(0, V, (B, T + 1))
    batches = [(ids[:, :-1], ids[:, 1:])] * 3

    def loss_fn(model, x, y):
        logits, _ = model(x.data)
        return F.cross_entropy(logits.reshape(B * T, V), y.reshape(-1))

    args = (lambda: CharRNN(V, hidden_size=16, num_layers=2, cell="gru", embedding_dim=8), batches, loss_fn,
            lambda p: optim.SGD(p, lr=0.5, momentum=0.9), np.float64)
    _assert_same_training(_train("cpu", *args, clip=1.0), _train(device, *args, clip=1.0), 1e-9, 1e-11)


@pytest.mark.parametrize("device", CUDA)
def test_yolo_head_steps_and_detections_equal_cpu(device):
    rng = np.random.default_rng(2)
    anchors = np.array([[8, 8], [16, 12]], np.float32)
    images = rng.standard_normal((2, 1, 32, 32)).astype(np.float32)
    targets = [{"boxes": np.array([[2.0, 3.0, 12.0, 14.0], [16.0, 16.0, 30.0, 28.0]]), "labels": np.array([0, 2])},
               {"boxes": np.array([[5.0, 5.0, 20.0, 25.0]]), "labels": np.array([1])}]
    args = (lambda: YOLO(3, anchors, image_size=32, width=4, num_pools=2), [(images, targets)] * 3,
            lambda m, x, t: m.loss(m(x), t), lambda p: optim.Adam(p, lr=1e-2), np.float64)
    cpu, cuda = _train("cpu", *args), _train(device, *args)
    _assert_same_training(cpu, cuda, 1e-9, 1e-11)
    # Decoding (sigmoid, softmax, batched NMS) gives the same boxes on both devices.
    xp = xp_for(device)
    found = [cpu[0].detect(images.astype(np.float64), score_threshold=0.0),
             cuda[0].detect(xp.asarray(images.astype(np.float64)), score_threshold=0.0)]
    for d_cpu, d_cuda in zip(*found):
        np.testing.assert_array_equal(to_host(d_cuda["labels"]), d_cpu["labels"])
        np.testing.assert_allclose(to_host(d_cuda["boxes"]), d_cpu["boxes"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(to_host(d_cuda["scores"]), d_cpu["scores"], rtol=1e-9, atol=1e-12)
