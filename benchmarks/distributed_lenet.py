"""Data-parallel LeNet-5 on the MNIST subset shipped with deepkern: time per epoch on 1 and on N
ranks with one thread each, the share of step time spent waiting for gradient all-reduces, and
the test accuracy, at a fixed global batch (so the runs take the same optimization path up to
summation order).

    python benchmarks/distributed_lenet.py                   # one process
    mpirun -np 2 python benchmarks/distributed_lenet.py      # two ranks (needs deepkern[distributed])

Prints one Markdown table row per run (rank 0).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import deepkern as dk
from deepkern import functional as F
from deepkern.data import DataLoader, MNISTSubset, transforms as T
from deepkern.models import LeNet
from deepkern.train import evaluate, fit


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--global-batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1, help="CPU threads per rank")
    p.add_argument("--bucket-cap-mb", type=float, default=25.0)
    args = p.parse_args()

    import deepkern.distributed as dist
    distributed = dist.is_available("mpi") and _launched_by_mpirun()
    if distributed:
        dist.init("mpi")
    world = dist.world_size() if distributed else 1
    rank = dist.rank() if distributed else 0
    if args.global_batch % world:
        raise SystemExit(f"--global-batch {args.global_batch} is not a multiple of {world} ranks")
    dk.set_num_threads(args.threads)
    dk.manual_seed(0)

    norm = T.Normalize(0.1307, 0.3081)
    train, test = MNISTSubset(True, transform=norm), MNISTSubset(False, transform=norm)
    model = LeNet(num_classes=10)
    per_rank = args.global_batch // world
    if distributed:
        model = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_cap_mb)
        loader = DataLoader(train, batch_size=per_rank, sampler=dist.DistributedSampler(train, seed=0))
    else:
        loader = DataLoader(train, batch_size=per_rank, shuffle=True, seed=0)
    opt = dk.optim.Adam(model.parameters(), lr=args.lr)

    epoch_times = []
    for epoch in range(args.epochs):
        start = time.perf_counter()
        fit(model, F.cross_entropy, opt, loader, epochs=1, progress=False)
        epoch_times.append(time.perf_counter() - start)
    wait = model.stats["wait_seconds"] if distributed else 0.0
    acc = evaluate(model, DataLoader(test, batch_size=500), device="cpu")["accuracy"]
    if rank == 0:
        steady = np.median(epoch_times[1:]) if len(epoch_times) > 1 else epoch_times[0]
        print(f"| {world} | {per_rank} | {args.threads} | {steady:.2f} | "
              f"{100 * wait / sum(epoch_times):.1f}% | {100 * acc:.2f}% |")


def _launched_by_mpirun() -> bool:
    import os
    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"))


if __name__ == "__main__":
    main()
