"""Run by tests/distributed/test_mpi.py under ``mpirun -np 2``: one scenario per call
(``python mpi_worker.py SCENARIO``). Each rank prints one line ``RESULT <rank> <json>``; the
test reads them. Failures raise (non-zero exit)."""
import json
import sys

import numpy as np

import deepkern as dk
import deepkern.distributed as dist
import deepkern.nn as nn


def report(**values):
    print(f"RESULT {dist.rank()} {json.dumps(values)}", flush=True)


def collectives():
    r, n = dist.rank(), dist.world_size()
    checked = 0
    for dtype in (np.float32, np.float64):
        for size in (0, 1, 7, 1023, 100_003):
            base = np.arange(size, dtype=dtype)
            x = base * (r + 1)
            dist.all_reduce(x)                      # sum
            np.testing.assert_array_equal(x, base * sum(range(1, n + 1)))
            x = base * (r + 1)
            dist.all_reduce(x, op="avg")
            np.testing.assert_allclose(x, base * (n + 1) / 2, rtol=1e-6)
            x = base + r
            dist.all_reduce(x, op="max")
            np.testing.assert_array_equal(x, base + n - 1)
            x = base + r
            dist.all_reduce(x, op="min")
            np.testing.assert_array_equal(x, base)
            y = np.full(size, float(r), dtype=dtype)
            dist.broadcast(y, src=n - 1)
            np.testing.assert_array_equal(y, np.full(size, n - 1, dtype=dtype))
            checked += 5
    w = dist.all_reduce(np.full((3, 5), 2.0, np.float32), async_op=True)
    w.wait()
    dist.barrier()
    report(checked=checked)


def _model(seed):
    dk.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def _batches(steps, per_rank, n):
    rng = np.random.default_rng(123)
    return [(rng.standard_normal((per_rank * n, 6)).astype(np.float64), rng.integers(0, 3, per_rank * n))
            for _ in range(steps)]


def ddp_steps(bucket_cap_mb):
    """Ranks start from different weights (rank 0's win), train on their shard of a global
    batch; after every step all ranks' parameters are bit-identical and equal (to summation
    order) those of one process training on the whole batch."""
    r, n = dist.rank(), dist.world_size()
    per_rank, steps = 5, 4
    model = _model(seed=100 + r).double()
    reference = _model(seed=100).double()      # rank 0's initial weights, one process
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb)
    opt = dk.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = dk.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    max_diff = 0.0
    for x, y in _batches(steps, per_rank, n):
        mine = slice(r * per_rank, (r + 1) * per_rank)
        opt.zero_grad()
        dk.functional.cross_entropy(ddp(dk.Tensor(x[mine])), y[mine]).backward()
        opt.step()
        ref_opt.zero_grad()
        dk.functional.cross_entropy(reference(dk.Tensor(x)), y).backward()
        ref_opt.step()
        flat = np.concatenate([p.data.ravel() for p in model.parameters()])
        lo, hi = flat.copy(), flat.copy()
        dist.all_reduce(lo, op="min")
        dist.all_reduce(hi, op="max")
        assert np.array_equal(lo, hi), "ranks' parameters differ after a step"
        ref = np.concatenate([p.data.ravel() for p in reference.parameters()])
        max_diff = max(max_diff, float(np.max(np.abs(flat - ref))))
    report(max_diff=max_diff, buckets=len(ddp._buckets), all_reduces=ddp.stats["all_reduces"],
           digest=float(np.sum(flat * np.arange(flat.size))))


def fit_run(directory):
    """fit() with DDP and a DistributedSampler: every rank logs the same global means; only
    rank 0 writes the checkpoint, which holds the plain (unwrapped) model."""
    from deepkern.data import DataLoader, TensorDataset
    from deepkern.train import Checkpoint, fit

    rng = np.random.default_rng(0)
    x = rng.standard_normal((101, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0).astype(np.int64)
    data = TensorDataset(x, y)
    sampler = dist.DistributedSampler(data, seed=0)
    shard = sorted(sampler)
    shards = dist.group._allgather_object(shard)
    ddp = dist.DistributedDataParallel(_model(seed=0))
    opt = dk.optim.Adam(ddp.parameters(), lr=0.01)
    path = f"{directory}/ckpt.dk"
    history = fit(ddp, dk.functional.cross_entropy, opt, DataLoader(data, batch_size=16, sampler=sampler),
                  DataLoader(data, batch_size=50), epochs=3, callbacks=[Checkpoint(path)], progress=False)
    dist.barrier()
    keys = sorted(dk.load(path)["model"]) if dist.rank() == 0 else []
    report(history={k: history[k] for k in history.keys()}, checkpoint_keys=keys, shard=len(shard),
           covered=len(set(shards[0]) | set(shards[1])), dataset=len(data))


def mismatch():
    hidden = 16 if dist.rank() == 0 else 17
    model = nn.Sequential(nn.Linear(6, hidden), nn.ReLU(), nn.Linear(hidden, 3))
    try:
        dist.DistributedDataParallel(model)
    except dist.DistributedError as e:
        report(error=str(e))
        return
    report(error=None)


def timeout():
    """Rank 1 skips the collective rank 0 calls: rank 0 must raise, not hang."""
    if dist.rank() == 0:
        try:
            dist.all_reduce(np.ones(4, np.float32))
        except dist.DistributedError as e:
            report(error=str(e))
            return
        report(error=None)
    else:
        report(error="skipped")


if __name__ == "__main__":
    scenario = sys.argv[1]
    dist.init("mpi", timeout=2.0 if scenario == "timeout" else 60.0)
    dk.set_num_threads(1)
    if scenario.startswith("fit:"):
        fit_run(scenario[4:])
        sys.exit(0)
    {"collectives": collectives, "ddp_one_bucket": lambda: ddp_steps(25.0),
     "ddp_many_buckets": lambda: ddp_steps(0.0005), "mismatch": mismatch, "timeout": timeout}[scenario]()
