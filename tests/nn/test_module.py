"""Module machinery: names, state_dict (against PyTorch's), loading, tying, modes, dtypes."""
from collections import OrderedDict

import numpy as np
import pytest

import deepkern as dk
from deepkern import nn
from tests.helpers import DEVICES, gradcheck, to_host, xp_for


class Net(nn.Module):
    """A small architecture with nesting, a container, a dict and a buffer."""

    def __init__(self, lib):
        super().__init__()
        self.body = lib.Sequential(lib.Linear(4, 6), lib.ReLU(), lib.Linear(6, 5, bias=False))
        self.heads = lib.ModuleList([lib.Linear(5, 3), lib.Linear(5, 2)])
        self.extra = lib.ModuleDict({"a": lib.Linear(3, 1), "b": lib.Tanh()})

    def forward(self, x):
        h = self.body(x)
        return self.extra["b"](self.extra["a"](self.heads[0](h))), self.heads[1](h)


def _torch():
    return pytest.importorskip("torch")


def _torch_net(torch):
    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.ReLU(),
                                            torch.nn.Linear(6, 5, bias=False))
            self.heads = torch.nn.ModuleList([torch.nn.Linear(5, 3), torch.nn.Linear(5, 2)])
            self.extra = torch.nn.ModuleDict({"a": torch.nn.Linear(3, 1), "b": torch.nn.Tanh()})

        def forward(self, x):
            h = self.body(x)
            return self.extra["b"](self.extra["a"](self.heads[0](h))), self.heads[1](h)

    return TorchNet()


def test_state_dict_names_and_shapes_equal_pytorch():
    torch = _torch()
    ours = {k: tuple(v.shape) for k, v in Net(nn).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in _torch_net(torch).state_dict().items()}
    assert list(ours) == list(theirs)
    assert ours == theirs


def test_loading_a_torch_state_dict_reproduces_its_outputs():
    torch = _torch()
    torch.manual_seed(0)
    tnet = _torch_net(torch).double()
    net = Net(nn).double()
    net.load_state_dict(tnet.state_dict())
    x = np.random.default_rng(0).standard_normal((7, 4))
    ours = net(dk.Tensor(x))
    theirs = tnet(torch.from_numpy(x))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_state_dict_round_trip_and_copy_semantics():
    dk.manual_seed(1)
    a, b = Net(nn), Net(nn)
    b.load_state_dict(a.state_dict())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va, vb)
        assert va is not vb  # loaded values are copies, not shared storage


def test_load_state_dict_errors_name_keys_shapes_dtypes():
    net = nn.Sequential(nn.Linear(3, 2))
    state = net.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\]"):
        net.load_state_dict({"0.weight": state["0.weight"]})
    with pytest.raises(KeyError, match=r"unexpected keys \['1.weight'\]"):
        net.load_state_dict({**state, "1.weight": state["0.weight"]})
    with pytest.raises(ValueError, match=r"0.weight has shape \(3, 2\) in the state but \(2, 3\)"):
        net.load_state_dict({**state, "0.weight": np.zeros((3, 2), np.float32)})
    with pytest.raises(TypeError, match="0.bias is float64 in the state but float32"):
        net.load_state_dict({**state, "0.bias": np.zeros(2)})
    missing, unexpected = net.load_state_dict({"0.weight": np.ones((2, 3), np.float32), "x": np.zeros(1)},
                                              strict=False)
    assert missing == ["0.bias"] and unexpected == ["x"]
    np.testing.assert_array_equal(net[0].weight.data, np.ones((2, 3)))


def test_buffers_are_saved_and_loaded_not_trained():
    class WithBuffer(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("count", np.zeros((), np.int64))

    m = WithBuffer()
    assert list(m.state_dict()) == ["count", "lin.weight", "lin.bias"]
    assert [n for n, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    m.load_state_dict({**m.state_dict(), "count": np.array(5)})
    assert int(m.count) == 5
    with pytest.raises(TypeError, match="register_buffer: b must be a NumPy/CuPy array, got list"):
        m.register_buffer("b", [1, 2])


def test_assigning_an_array_to_a_buffer_updates_the_buffer():
    m = nn.Module()
    m.register_buffer("steps", np.zeros((), np.int64))
    m.steps = m.steps + 1          # as in PyTorch: still a buffer, so still in the state_dict
    assert list(m.state_dict()) == ["steps"] and int(m.state_dict()["steps"]) == 1
    m.steps = None
    assert "steps" not in m.state_dict() and m.steps is None


def test_tied_parameter_appears_once_and_gets_summed_gradients():
    enc, dec = nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False)
    dec.weight = enc.weight
    model = nn.Sequential(enc, dec).double()
    assert [n for n, _ in model.named_parameters()] == ["0.weight"]
    assert list(model.state_dict()) == ["0.weight", "1.weight"]  # PyTorch lists tied names twice
    x = np.random.default_rng(0).standard_normal((4, 3))
    w = model[0].weight.data.copy()
    model(dk.Tensor(x)).sum().backward()
    # y = x W^T W^T: dL/dW = sum of the two uses' gradients.
    g_out = np.ones((4, 3))
    h = x @ w.T
    expected = g_out.T @ h + (g_out @ w).T @ x
    np.testing.assert_allclose(model[0].weight.grad, expected, rtol=1e-12)
    gradcheck(lambda wt, xt: (xt @ wt.T) @ wt.T, w, x)


def test_train_eval_zero_grad_and_num_parameters():
    net = Net(nn)
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    assert net.num_parameters() == 4 * 6 + 6 + 6 * 5 + 5 * 3 + 3 + 5 * 2 + 2 + 3 * 1 + 1
    out = net(dk.Tensor(np.ones((2, 4), np.float32)))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_double_float_and_to_cpu():
    net = Net(nn)
    out = net(dk.Tensor(np.ones((1, 4), np.float32)))
    (out[0].sum() + out[1].sum()).backward()
    assert net.double() is net
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net(dk.Tensor(np.ones((1, 4))))[0].dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.to("cpu") is net and net.device == "cpu"
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda', got 'tpu'"):
        net.to("tpu")


def test_named_modules_children_and_repr():
    net = Net(nn)
    names = [n for n, _ in net.named_modules()]
    assert names == ["", "body", "body.0", "body.1", "body.2", "heads", "heads.0", "heads.1", "extra",
                     "extra.a", "extra.b"]
    assert [n for n, _ in net.named_children()] == ["body", "heads", "extra"]
    text = repr(net)
    assert "(body): Sequential(" in text and "(2): Linear(in_features=6, out_features=5, bias=False)" in text


def test_attribute_registration_rules():
    class Bad(nn.Module):
        def __init__(self):
            self.w = 1

    with pytest.raises(AttributeError, match="must call super"):
        Bad()
    m = nn.Module()
    m.lin = nn.Linear(2, 2)
    m.lin = None  # replacing a child by a plain value unregisters it
    assert list(m.named_children()) == [] and m.lin is None
    m.p = nn.Parameter(np.zeros(3))
    del m.p
    assert list(m.parameters()) == []
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        m.nope
    with pytest.raises(NotImplementedError, match="Module must define forward"):
        m(1)
    with pytest.raises(TypeError, match="add_module: x must be a Module, got int"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="register_parameter: x must be a Parameter, got ndarray"):
        m.register_parameter("x", np.zeros(2))


def test_sequential_from_ordered_dict_keeps_names():
    seq = nn.Sequential(OrderedDict(fc=nn.Linear(2, 3), act=nn.ReLU()))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert seq[0] is seq.fc


@pytest.mark.parametrize("device", [d for d in DEVICES if d.id == "cuda"])
def test_to_cuda_and_back(device, tmp_path):
    xp = xp_for(device)
    dk.manual_seed(0)
    net = Net(nn)
    cpu_state = {k: v.copy() for k, v in net.state_dict().items()}
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    expected = [o.data for o in net(dk.Tensor(x))]
    assert net.to("cuda") is net and net.device == "cuda"
    assert all(isinstance(v, xp.ndarray) for v in net.state_dict().values())
    out = net(dk.Tensor(xp.asarray(x)))
    for o, e in zip(out, expected):
        np.testing.assert_allclose(to_host(o.data), e, rtol=1e-5, atol=1e-6)
    (out[0].sum() + out[1].sum()).backward()
    assert all(isinstance(p.grad.data, xp.ndarray) for p in net.parameters())
    dk.save(net.state_dict(), tmp_path / "gpu.ckpt")               # saved from host copies
    assert all(isinstance(v, np.ndarray) for v in dk.load(tmp_path / "gpu.ckpt").values())
    net.load_state_dict(cpu_state)                                 # NumPy state onto a CUDA module
    assert all(isinstance(v, xp.ndarray) for v in net.state_dict().values())
    net.cpu()
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, cpu_state[k])
