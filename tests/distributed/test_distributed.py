"""deepkern.distributed: collectives and DistributedDataParallel under a real ``mpirun -np 2``
(mpi_worker.py holds the scenarios), the sampler's shards, the DataLoader's sampler, the
gradient hooks DDP stands on, and the errors of a bad setup."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepkern as dk
import deepkern.distributed as dist
from deepkern.data import DataLoader, TensorDataset

WORKER = Path(__file__).with_name("mpi_worker.py")
HAVE_MPI = dist.is_available("mpi") and shutil.which("mpirun") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="mpi4py and mpirun are not installed (pip install 'deepkern[distributed]')")


def mpirun(scenario, np_=2, timeout=120):
    """Run one scenario on np_ ranks; return {rank: result dict}."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = ["mpirun", "-np", str(np_), "--oversubscribe", sys.executable, str(WORKER), scenario]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            _, rank, payload = line.split(" ", 2)
            results[int(rank)] = json.loads(payload)
    assert len(results) == np_, f"{scenario}: expected {np_} results\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    return results


@needs_mpi
def test_collectives_on_two_ranks_both_dtypes_and_odd_sizes():
    res = mpirun("collectives")
    assert res[0]["checked"] == res[1]["checked"] == 50


@needs_mpi
def test_ddp_two_ranks_equal_one_process_on_the_whole_batch_and_stay_identical():
    one = mpirun("ddp_one_bucket")
    many = mpirun("ddp_many_buckets")
    for res in (one, many):
        for r in (0, 1):
            # float64, 4 SGD steps: only summation order differs from the single process
            assert res[r]["max_diff"] < 1e-12
    assert one[0]["buckets"] == 1 and many[0]["buckets"] > 1
    assert many[0]["all_reduces"] == 4 * many[0]["buckets"]
    # bucketing changes nothing: the same final parameters either way
    assert one[0]["digest"] == many[0]["digest"] == one[1]["digest"]


@needs_mpi
def test_fit_on_two_ranks_logs_the_global_means_and_checkpoints_from_rank_0(tmp_path):
    res = mpirun(f"fit:{tmp_path}")
    assert res[0]["history"] == res[1]["history"]
    assert res[0]["history"]["loss"][-1] < res[0]["history"]["loss"][0]
    assert res[0]["checkpoint_keys"] and all(not k.startswith("module.") for k in res[0]["checkpoint_keys"])
    # 101 samples on 2 ranks: 51 each (one padded repeat), together covering every sample
    assert res[0]["shard"] == res[1]["shard"] == 51 and res[0]["covered"] == res[0]["dataset"] == 101


@needs_mpi
def test_ranks_with_different_models_get_a_clear_error():
    res = mpirun("mismatch")
    for r in (0, 1):
        assert "ranks hold different models" in res[r]["error"]
        assert "(17, 6)" in res[r]["error"]


@needs_mpi
def test_a_rank_that_skips_a_collective_makes_the_others_time_out_not_hang():
    res = mpirun("timeout")
    assert "not every rank took part within 2 s" in res[0]["error"]


def test_sampler_shards_are_disjoint_cover_the_data_and_are_equal_in_size():
    for n, ranks in [(10, 3), (9, 3), (1, 2), (17, 4), (0, 2)]:
        data = np.arange(n)
        for epoch in (0, 1):
            shards = []
            for r in range(ranks):
                s = dist.DistributedSampler(data, num_replicas=ranks, rank=r, shuffle=True, seed=5)
                s.set_epoch(epoch)
                shards.append(list(s))
            assert len({len(sh) for sh in shards}) == 1 and len(shards[0]) == len(s)
            flat = [i for sh in shards for i in sh]
            assert set(flat) == set(range(n))
            assert len(flat) == -(-n // ranks) * ranks   # padded by repeats only
            if n >= ranks:
                assert len(set(flat)) == n
        # drop_last: disjoint, no repeats
        shards = [list(dist.DistributedSampler(data, ranks, r, seed=5, drop_last=True)) for r in range(ranks)]
        flat = [i for sh in shards for i in sh]
        assert len(flat) == len(set(flat)) == n // ranks * ranks


def test_sampler_order_depends_on_seed_and_epoch_only():
    data = np.arange(50)
    a = dist.DistributedSampler(data, 2, 0, seed=1)
    b = dist.DistributedSampler(data, 2, 0, seed=1)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    assert list(dist.DistributedSampler(data, 2, 0, shuffle=False)) == list(range(0, 50, 2))


def test_dataloader_takes_a_sampler_and_sets_its_epoch():
    ds = TensorDataset(np.arange(20, dtype=np.float32).reshape(20, 1), np.arange(20))
    sampler = dist.DistributedSampler(ds, num_replicas=2, rank=1, seed=3)
    loader = DataLoader(ds, batch_size=4, sampler=sampler)
    assert len(loader) == 3
    first = np.concatenate([y for _, y in loader])
    second = np.concatenate([y for _, y in loader])
    assert sorted(first) == sorted(set(first)) and len(first) == 10
    assert sampler.epoch == 1 and not np.array_equal(first, second)
    with pytest.raises(ValueError, match="sampler and shuffle=True are exclusive"):
        DataLoader(ds, batch_size=4, sampler=sampler, shuffle=True)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices"):
        DataLoader(ds, batch_size=4, sampler=5)


def test_sampler_errors():
    with pytest.raises(ValueError, match=r"rank must be in \[0, 2\), got 2"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="not initialized"):
        dist.DistributedSampler(range(4))


def test_collectives_before_init_and_bad_arguments_are_clear_errors():
    with pytest.raises(RuntimeError, match="call deepkern.distributed.init"):
        dist.all_reduce(np.ones(3))
    with pytest.raises(RuntimeError, match="not initialized"):
        dist.rank()
    with pytest.raises(ValueError, match="backend must be one of"):
        dist.init("gloo")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        dist.init("mpi", timeout=0)
    with pytest.raises(RuntimeError, match="not initialized"):
        dist.DistributedDataParallel(dk.nn.Linear(2, 2))


def test_post_accumulate_grad_hook_fires_once_with_the_whole_gradient():
    w = dk.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.data.copy()))
    x = dk.Tensor(np.array([3.0, 4.0]))
    ((w * x).sum() + (w * w).sum()).backward()       # w used three times
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], x.data + 2 * w.data)
    handle.remove()
    (w * x).sum().backward()
    assert len(seen) == 1
    with pytest.raises(RuntimeError, match="only leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(print)


def test_queued_callback_runs_after_every_hook():
    w = dk.Tensor(np.ones(3), requires_grad=True)
    v = dk.Tensor(np.ones(3), requires_grad=True)
    events = []

    def hook(t):
        events.append("hook")
        if len(events) == 1:
            dk.autograd.queue_callback(lambda: events.append("done"))

    w.register_post_accumulate_grad_hook(hook)
    v.register_post_accumulate_grad_hook(hook)
    (w * v).sum().backward()
    assert events == ["hook", "hook", "done"]
    with pytest.raises(RuntimeError, match="only possible during a backward pass"):
        dk.autograd.queue_callback(print)


@needs_mpi
def test_a_single_process_is_a_world_of_one():
    env = dict(os.environ, OMP_NUM_THREADS="1")
    code = ("import numpy as np, deepkern as dk, deepkern.distributed as d; d.init('mpi'); "
            "x = np.arange(5.0); d.all_reduce(x, op='avg'); m = d.DistributedDataParallel(dk.nn.Linear(3, 2)); "
            "print(d.rank(), d.world_size(), x.tolist(), len(m._buckets))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["0", "1", "[0.0,", "1.0,", "2.0,", "3.0,", "4.0]", "1"], out.stderr


@needs_mpi
def test_nccl_backend_plumbing_with_a_fake_cupy():
    """No GPU here: nccl_fake_worker.py swaps in a recording NCCL communicator (see its docstring)."""
    out = subprocess.run([sys.executable, str(WORKER.with_name("nccl_fake_worker.py"))], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert out.returncode == 0, out.stderr[-3000:]
    calls = [tuple(tuple(x) if isinstance(x, list) else x for x in c) for c in json.loads(out.stdout.splitlines()[-1])]
    assert calls[0] == ("device", 0) and calls[1] == ("comm", 1, (7, 7, 7), 0)
    assert ("allReduce", True, 5, "NCCL_FLOAT32", "NCCL_MAX", 1234) in calls           # in place, current stream
    assert ("bcast", 3, "NCCL_FLOAT64", 0, 1234) in calls
    assert ("numpy refused", True) in calls
    assert calls[-3:] == [("abort",), ("timeout", True), ("destroy",)]                  # a hung collective aborts


@needs_mpi
def test_train_lenet_distributed_on_two_ranks_then_resume_in_one_process(tmp_path):
    ckpt = tmp_path / "lenet.dk"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    small = ["--train-samples", "512", "--test-samples", "256", "--threads", "1", "--quiet"]
    out = subprocess.run(["mpirun", "-np", "2", "--oversubscribe", sys.executable, "-m", "deepkern", "train", "lenet",
                          "--distributed", "--epochs", "1", "--checkpoint", str(ckpt), *small],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("test accuracy") == 1            # rank 0 alone reports
    model_keys = list(dk.load(ckpt)["state"]["model"])
    assert model_keys and not any(k.startswith("module.") for k in model_keys)   # the unwrapped model
    resumed = subprocess.run([sys.executable, "-m", "deepkern", "train", "lenet", "--resume", "--epochs", "2",
                              "--checkpoint", str(ckpt), *small], capture_output=True, text=True, timeout=300, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from epoch 1" in resumed.stdout


def test_train_distributed_in_a_single_process_is_a_usage_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "deepkern", "train", "lenet", "--distributed", "--checkpoint",
                          str(tmp_path / "x.dk")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [out.stderr.strip()]  # one line, no traceback
    assert "--distributed" in out.stderr and ("mpirun -np N" in out.stderr or "pip install" in out.stderr)
