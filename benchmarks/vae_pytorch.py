"""PyTorch's examples/vae (github.com/pytorch/examples, vae/main.py), on the same data as
``deepkern train vae``, for a side-by-side comparison of the test loss.

The model, loss and training are the example's: 784-400-20 MLP, ReLU, sigmoid output, loss =
binary cross-entropy summed over pixels + KL, Adam lr 1e-3, batch 128, shuffled training set, a
sampled z in the test pass too; the losses printed are nats per image. Only the data loading
differs: the IDX files are read directly (no torchvision), pixels / 255 as ToTensor() makes them.

    python benchmarks/vae_pytorch.py --data-dir ../shared/data/mnist --epochs 10 --threads 1
    deepkern train vae --data mnist --data-dir ../shared/data/mnist --epochs 10 --threads 1

torch is optional for deepkern; this script needs it (pip install torch).
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def load(data_dir, embedded):
    from deepkern.data import MNIST, MNISTSubset

    if embedded:
        train, test = MNISTSubset(True), MNISTSubset(False)
    else:
        train, test = MNIST(data_dir, train=True), MNIST(data_dir, train=False)
    pixels = lambda d: (d.data.reshape(len(d), 784) / np.float32(255)).astype(np.float32)  # noqa: E731
    return pixels(train), pixels(test)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None, help="MNIST IDX files (default: the subset shipped with deepkern)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)

    import torch
    from torch import nn, optim
    from torch.nn import functional as F

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test = (torch.from_numpy(a) for a in load(args.data_dir, args.data_dir is None))

    class VAE(nn.Module):  # the example's model, unchanged
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar)
            return self.decode(z), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld, bce, kld

    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    print(f"PyTorch {torch.__version__} examples/vae: {len(train)} training, {len(test)} test images; "
          f"{torch.get_num_threads()} threads")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        train_loss = 0.0
        for idx in torch.randperm(len(train)).split(args.batch_size):
            data = train[idx]
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)[0]
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        model.eval()
        sums = np.zeros(3)
        with torch.no_grad():
            for data in test.split(args.batch_size):
                recon, mu, logvar = model(data)
                sums += [t.item() for t in loss_function(recon, data, mu, logvar)]
        sums /= len(test)
        print(f"epoch {epoch}/{args.epochs}: loss {train_loss / len(train):.4g}, test_loss {sums[0]:.4g}, "
              f"test_recon {sums[1]:.4g}, test_kl {sums[2]:.4g} ({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"test loss {sums[0]:.2f} nats per image (reconstruction {sums[1]:.2f} + KL {sums[2]:.2f}; "
          f"{len(test)} images); {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
