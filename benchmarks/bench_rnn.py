"""RNN family benchmarks: deepkern vs the NumPy reference vs PyTorch on the same inputs.

The course-sized case of the task: batch 64, input 256, hidden 512, T = 50, one layer,
float32, 2 threads; forward (no autograd) and forward + backward (BPTT, all gradients).

    python -m pytest benchmarks/bench_rnn.py --benchmark-enable --benchmark-group-by=group

Outputs are fresh allocations each call (no preallocated buffers) on every side.
"""
import numpy as np
import pytest

import deepkern as dk
from deepkern import nn, reference as ref

try:
    import torch
except ImportError:  # PyTorch is optional: its cases skip
    torch = None

T, B, I, H = 50, 64, 256, 512
THREADS = 2
MODES = ["LSTM", "GRU"]


@pytest.fixture(scope="module", autouse=True)
def threads():
    dk.set_num_threads(THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)


def _inputs():
    return np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)


def _layers(mode):
    dk.manual_seed(0)
    ours = getattr(nn, mode)(I, H)
    theirs = None
    if torch is not None:
        theirs = getattr(torch.nn, mode)(I, H)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


@pytest.mark.parametrize("mode", MODES)
def test_forward_deepkern(benchmark, mode):
    benchmark.group = f"{mode} forward T={T} B={B} I={I} H={H} float32"
    ours, _ = _layers(mode)
    x = _inputs()

    def run():
        with dk.no_grad():
            return ours(x)
    benchmark(run)


@pytest.mark.parametrize("mode", MODES)
def test_forward_torch(benchmark, mode):
    if torch is None:
        pytest.skip("PyTorch is not installed")
    benchmark.group = f"{mode} forward T={T} B={B} I={I} H={H} float32"
    _, theirs = _layers(mode)
    x = torch.from_numpy(_inputs())

    def run():
        with torch.no_grad():
            return theirs(x)
    benchmark(run)


@pytest.mark.parametrize("mode", MODES)
def test_forward_reference(benchmark, mode):
    benchmark.group = f"{mode} forward T={T} B={B} I={I} H={H} float32"
    ours, _ = _layers(mode)
    x = _inputs()
    w = [p.data for p in ours.parameters()]
    h0 = np.zeros((B, H), np.float32)
    if mode == "LSTM":
        benchmark.pedantic(ref.lstm_forward, (x, h0, h0, *w), rounds=3)
    else:
        benchmark.pedantic(ref.gru_forward, (x, h0, *w), rounds=3)


@pytest.mark.parametrize("mode", MODES)
def test_forward_backward_deepkern(benchmark, mode):
    benchmark.group = f"{mode} forward+backward T={T} B={B} I={I} H={H} float32"
    ours, _ = _layers(mode)
    x = dk.Tensor(_inputs(), requires_grad=True)
    g = np.random.default_rng(1).standard_normal((T, B, H)).astype(np.float32)

    def run():
        ours.zero_grad()
        out, _ = ours(x)
        out.backward(g)
    benchmark(run)


@pytest.mark.parametrize("mode", MODES)
def test_forward_backward_torch(benchmark, mode):
    if torch is None:
        pytest.skip("PyTorch is not installed")
    benchmark.group = f"{mode} forward+backward T={T} B={B} I={I} H={H} float32"
    _, theirs = _layers(mode)
    x = torch.from_numpy(_inputs()).requires_grad_(True)
    g = torch.from_numpy(np.random.default_rng(1).standard_normal((T, B, H)).astype(np.float32))

    def run():
        theirs.zero_grad()
        out, _ = theirs(x)
        out.backward(g)
    benchmark(run)


@pytest.mark.parametrize("mode", MODES)
def test_forward_backward_reference(benchmark, mode):
    benchmark.group = f"{mode} forward+backward T={T} B={B} I={I} H={H} float32"
    ours, _ = _layers(mode)
    x = _inputs()
    w = [p.data for p in ours.parameters()]
    h0 = np.zeros((B, H), np.float32)
    g = np.random.default_rng(1).standard_normal((T, B, H)).astype(np.float32)

    def run():
        if mode == "LSTM":
            _, _, _, saved = ref.lstm_forward(x, h0, h0, *w)
            return ref.lstm_backward(g, None, None, x, h0, h0, w[0], w[1], saved)
        _, _, saved = ref.gru_forward(x, h0, *w)
        return ref.gru_backward(g, None, x, h0, w[0], w[1], saved)
    benchmark.pedantic(run, rounds=2)
