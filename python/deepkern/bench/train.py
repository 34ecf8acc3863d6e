"""Training-step benchmark cases: one forward + backward + Adam step of a whole model, deepkern
beside the same architecture in PyTorch, on the same batch.

- LeNet-5 at batch 64 on 1x28x28 (MNIST's size: what ``deepkern train lenet`` runs), 10 classes.
- ResNet-18 at batch 8 on 3x64x64, 10 classes.

PyTorch's models are written out here (torchvision is not a dependency) with the same layers;
setup checks that both have the same number of parameters. There is no NumPy reference for a
whole step (the op families' cases time the references op by op). Nothing is preallocated: the
autograd engines allocate every activation and gradient. ``flops`` is 3x the forward pass's
multiply-adds x 2 (forward, grad-input, grad-weight), counted from the architectures:
LeNet-5 416,520 MACs per 28x28 image; ResNet-18 148,050,944 MACs per 64x64 image.
"""
from __future__ import annotations

from . import Case

# conv1 (padding 2) + conv2 + the three fully connected layers
LENET_MACS = 6 * 25 * 28 * 28 + 16 * 150 * 10 * 10 + 400 * 120 + 120 * 84 + 84 * 10
# stem conv at 32x32 + layer1 (4 convs 64->64 at 16x16) + layer2..4: each a strided conv, three
# 3x3 convs and a 1x1 downsample; halving the map and doubling the channels keeps each stage's MACs
RESNET18_64_MACS = (64 * 3 * 49 * 32 * 32 + 4 * 64 * 64 * 9 * 16 * 16
                    + sum(4_718_592 + 3 * 9_437_184 + 524_288 for _ in range(3)) + 512 * 10)


def _torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def _torch_resnet18(torch, classes):
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    blocks, cin = [], 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        blocks += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
        cin = cout
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                         nn.MaxPool2d(3, 2, 1), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(512, classes))


def same_size(family, op, model, tmodel):
    """The two implementations must time the same network: equal parameter counts."""
    n_torch = sum(p.numel() for p in tmodel.parameters())
    if n_torch != model.num_parameters():
        raise RuntimeError(f"bench {family}: {op} has {model.num_parameters()} parameters in deepkern but "
                           f"{n_torch} in PyTorch")


def _step_case(op, shape, batch, macs, build_deepkern, build_torch):
    def setup(ctx):
        import deepkern as dk
        from .. import functional as F
        from .. import optim

        x = ctx.randn(*shape)
        y = ctx.xp.asarray(ctx.rng.integers(0, 10, shape[0]))
        dk.manual_seed(ctx.seed)
        model = build_deepkern().to(ctx.device)
        opt = optim.Adam(model.parameters(), lr=1e-3)

        def deepkern():
            loss = F.cross_entropy(model(dk.Tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        fns = {"deepkern": deepkern}
        if ctx.torch is not None:
            torch = ctx.torch
            torch.manual_seed(ctx.seed)
            tmodel = build_torch(torch).to(ctx.device)
            same_size("train", op, model, tmodel)
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
            tx, ty = ctx.tensor(x), ctx.tensor(y)

            def torch_step():
                loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
                topt.zero_grad()
                loss.backward()
                topt.step()

            fns["torch"] = torch_step
        return fns

    return Case("train", op, f"b{batch},{'x'.join(map(str, shape[1:]))}", setup, flops=3 * 2 * macs * batch)


def cases():
    from ..models import LeNet, resnet18
    return [
        _step_case("lenet5_adam_step", (64, 1, 28, 28), 64, LENET_MACS, LeNet, _torch_lenet),
        _step_case("resnet18_adam_step", (8, 3, 64, 64), 8, RESNET18_64_MACS,
                   lambda: resnet18(num_classes=10), lambda torch: _torch_resnet18(torch, 10)),
    ]
