"""All-reduce cost on this machine's MPI: median time of deepkern.distributed.all_reduce (float32,
in place) per message size, with the bandwidth it implies. Feeds the scaling estimate in
docs/distributed.md.

    mpirun -np 2 python benchmarks/distributed_allreduce.py
"""
import time

import numpy as np

import deepkern.distributed as dist


def main():
    dist.init("mpi")
    sizes = [1, 1_024, 61_706, 262_144, 1_048_576, 6_553_600]   # floats; 61,706 = LeNet-5's gradient
    if dist.rank() == 0:
        print("| floats | bytes | median time | algorithm bandwidth |")
        print("|---:|---:|---:|---:|")
    for n in sizes:
        x = np.ones(n, np.float32)
        times = []
        for _ in range(30):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(x)
            times.append(time.perf_counter() - start)
        t = float(np.median(times[5:]))
        if dist.rank() == 0:
            print(f"| {n:,} | {4 * n:,} | {t * 1e6:,.0f} µs | {4 * n / t / 1e9:.2f} GB/s |")


if __name__ == "__main__":
    main()
