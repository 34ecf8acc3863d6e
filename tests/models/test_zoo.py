"""The model zoo: parameter counts at ImageNet settings equal torchvision's, state_dict names
follow torchvision, forward shapes on small inputs, and one training step per model (forward,
backward, Adam) that gives every parameter a finite gradient and moves it. (Learning itself is
asserted by the seeded runs in tests/train.)"""
import numpy as np
import pytest

import deepkern as dk
import deepkern.functional as F
from deepkern import optim
from deepkern.models import MLP, AlexNet, GoogLeNet, LeNet, resnet18, resnet34, resnet50, vgg16

# torchvision's counts (weights only, no buffers), aux classifiers off for GoogLeNet
IMAGENET_COUNTS = [
    (lambda: AlexNet(), 61_100_840),
    (lambda: vgg16(), 138_357_544),
    (lambda: resnet18(), 11_689_512),
    (lambda: resnet34(), 21_797_672),
    (lambda: resnet50(), 25_557_032),
    (lambda: GoogLeNet(), 6_624_904),
]


@pytest.mark.parametrize("build,count", IMAGENET_COUNTS, ids=["alexnet", "vgg16", "resnet18", "resnet34",
                                                               "resnet50", "googlenet"])
def test_parameter_counts_equal_torchvision(build, count):
    model = build()
    assert model.num_parameters() == count
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_lenet5_is_the_classic():
    # conv1 6*(1*25+1) + conv2 16*(6*25+1) + fc 400*120+120 + 120*84+84 + 84*10+10
    assert LeNet().num_parameters() == 156 + 2416 + 48120 + 10164 + 850 == 61706
    assert LeNet(input_size=32).num_parameters() == 61706                      # 32x32 needs no padding
    assert LeNet(num_classes=5, in_channels=3, input_size=36).num_parameters() == \
        6 * 76 + 2416 + (16 * 6 * 6) * 120 + 120 + 10164 + 84 * 5 + 5
    with pytest.raises(ValueError, match="LeNet: pooling must be 'max' or 'avg', got 'lp'"):
        LeNet(pooling="lp")
    with pytest.raises(ValueError, match="LeNet: activation must be one of"):
        LeNet(activation="gelu")


def _batch(shape, classes, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, classes, shape[0])


# (id, builder, input shape, state_dict keys that must be there: torchvision's names)
SMALL = [
    ("mlp", lambda: MLP([3 * 8 * 8, 32, 16, 10], dropout=0.1), (4, 3, 8, 8),
     {"layers.1.weight", "layers.4.weight", "layers.7.bias"}),
    ("lenet", lambda: LeNet(), (4, 1, 28, 28),
     {"features.0.weight", "features.3.weight", "classifier.1.weight", "classifier.5.bias"}),
    ("lenet_tanh_avg", lambda: LeNet(activation="tanh", pooling="avg", in_channels=3, input_size=32),
     (4, 3, 32, 32), {"features.0.weight"}),
    ("alexnet", lambda: AlexNet(num_classes=10, input_size=64), (2, 3, 64, 64),
     {"features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight", "features.10.weight",
      "classifier.1.weight", "classifier.4.weight", "classifier.6.weight"}),
    ("vgg16_bn", lambda: vgg16(num_classes=10, input_size=32, batch_norm=True), (2, 3, 32, 32),
     {"features.0.weight", "features.1.running_var", "features.3.weight", "features.41.weight",
      "classifier.0.weight", "classifier.3.weight", "classifier.6.bias"}),
    ("resnet18", lambda: resnet18(num_classes=10, in_channels=1), (2, 1, 32, 32),
     {"conv1.weight", "bn1.running_var", "bn1.num_batches_tracked", "layer1.1.conv2.weight",
      "layer2.0.downsample.0.weight", "layer2.0.downsample.1.running_mean", "layer4.1.bn2.bias", "fc.bias"}),
    ("resnet50", lambda: resnet50(num_classes=10), (2, 3, 32, 32),
     {"layer1.0.downsample.0.weight", "layer3.5.conv3.weight", "layer4.2.bn3.weight", "fc.weight"}),
    ("googlenet", lambda: GoogLeNet(num_classes=10), (2, 3, 32, 32),
     {"conv1.conv.weight", "conv1.bn.running_mean", "inception3a.branch1.conv.weight",
      "inception3a.branch2.1.bn.weight", "inception4e.branch4.1.conv.weight", "fc.weight"}),
]


@pytest.mark.parametrize("name,build,shape,keys", SMALL, ids=[s[0] for s in SMALL])
def test_one_training_step(name, build, shape, keys):
    dk.manual_seed(0)
    model = build()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    assert keys <= set(before), sorted(keys - set(before))
    x, y = _batch(shape, 10)
    model.eval()
    with dk.no_grad():
        assert model(dk.Tensor(x)).shape == (shape[0], 10)
    model.train()
    opt = optim.Adam(model.parameters(), lr=1e-4)
    loss = F.cross_entropy(model(dk.Tensor(x)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert np.isfinite(loss.item())
    after = model.state_dict()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape and np.all(np.isfinite(p.grad)), pname
        assert not np.array_equal(after[pname], before[pname]), f"{pname} did not move"
    for bname, _ in model.named_buffers():          # BatchNorm statistics follow the batch
        if bname.endswith("running_mean"):
            assert not np.array_equal(after[bname], before[bname]), bname


def test_resnet_shortcuts():
    """A downsample branch exactly where the shape changes (torchvision's rule)."""
    r18 = {k for k in resnet18(num_classes=2).state_dict() if ".downsample." in k}
    assert {k.split(".downsample")[0] for k in r18} == {"layer2.0", "layer3.0", "layer4.0"}
    r50 = {k for k in resnet50(num_classes=2).state_dict() if ".downsample." in k}
    assert {k.split(".downsample")[0] for k in r50} == {"layer1.0", "layer2.0", "layer3.0", "layer4.0"}


def test_forward_shapes_at_other_sizes():
    dk.manual_seed(0)
    with dk.no_grad():
        assert resnet18(num_classes=7).eval()(dk.Tensor(np.zeros((1, 3, 48, 40), np.float32))).shape == (1, 7)
        assert LeNet(input_size=32).eval()(dk.Tensor(np.zeros((3, 1, 32, 32), np.float32))).shape == (3, 10)
        assert MLP([5, 2])(dk.Tensor(np.zeros((6, 5), np.float32))).shape == (6, 2)
    with pytest.raises(ValueError, match="AlexNet: input_size must be >= 63, got 32"):
        AlexNet(input_size=32)
    with pytest.raises(ValueError, match="MLP: sizes must list at least two positive widths"):
        MLP([10])
