"""Per-call overhead, peak memory and thread scaling, deepkern beside PyTorch.

    python benchmarks/cpu_report.py overhead [--calls 20000]
    python benchmarks/cpu_report.py memory [--steps 3]
    python benchmarks/cpu_report.py threads [--repeat 5] [--cases SUBSTRING ...]
    python benchmarks/cpu_report.py conv-algorithms [--repeat 5]

overhead: the cost of one small op call — argument checks, dispatch, output allocation — for
a 64x64x64 matmul and a 1,000-element relu, at the array level (deepkern.ops on NumPy arrays
vs torch.* on tensors that do not require grad) and at the autograd level
(deepkern.functional on a Tensor that requires grad vs torch on a tensor that requires grad). One thread; CPU time of
the calling thread per call (holds on a busy machine), median of 5 rounds, deepkern and
PyTorch interleaved.

memory: peak resident memory (ru_maxrss) of a few training steps (forward, backward, Adam) of
ResNet-18 (batch 8, 3x64x64) and of the 2-layer LSTM language model (batch 32, 64 steps, 256
hidden, vocabulary 65), the models of deepkern.bench.train. Each measurement runs in a fresh
process with the same setup (numpy, torch and deepkern imported, one thread); the column is
the growth of the peak over the process's resident memory before the model was built.

threads: the headline cases (the 3x3 and 5x5 convolutions, the skinny GEMM, the LSTM, attention
and the four training steps of deepkern.bench) with 1 thread and with 2, deepkern and PyTorch interleaved
by the bench runner (wall time; the NumPy reference is left out: it is not what is compared
here and costs minutes). Per case: both times at each thread count, dk/torch at each, the
speed-up 1 -> 2 threads of each library (parallel efficiency = speed-up / 2), and deepkern's
GFLOP/s as a fraction of the measured peak of 1 and 2 cores.

conv-algorithms: the 3x3 stride-1 cases of deepkern.bench.conv (forward, and forward +
backward) with deepkern's im2col + GEMM and its Winograd F(2x2, 3x3) forced in turn
(deepkern._cpu.set_conv_algorithm), beside PyTorch; one thread, thread CPU time,
interleaved by the bench runner: the comparison behind the automatic choice.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _per_call(fn, calls):
    t0 = time.thread_time()
    for _ in range(calls):
        fn()
    return (time.thread_time() - t0) / calls


def overhead(calls):
    import numpy as np
    import torch

    import deepkern as dk
    import deepkern.functional as F
    from deepkern import ops

    dk.set_num_threads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((64, 64)).astype(np.float32) for _ in range(2))
    v = rng.standard_normal(1000).astype(np.float32)
    ta, tb, tv = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(v)
    A, V = dk.Tensor(a, requires_grad=True), dk.Tensor(v, requires_grad=True)
    TA, TV = ta.clone().requires_grad_(), tv.clone().requires_grad_()

    # Tensors that do not require grad record nothing, as NumPy arrays in deepkern.ops (a
    # no_grad block around every call would time the context manager instead).
    rows = [("matmul 64x64x64, arrays", lambda: ops.matmul(a, b), lambda: torch.matmul(ta, tb)),
            ("relu 1000, arrays", lambda: ops.relu(v), lambda: torch.relu(tv)),
            ("matmul 64x64x64, autograd", lambda: F.matmul(A, A), lambda: torch.matmul(TA, TA)),
            ("relu 1000, autograd", lambda: F.relu(V), lambda: torch.relu(TV))]
    print("| call | deepkern | torch | dk/torch |")
    print("|---|---|---|---|")
    for name, dk_fn, torch_fn in rows:
        for f in (dk_fn, torch_fn):
            _per_call(f, calls // 10)
        d, t = [], []
        for _ in range(5):
            d.append(_per_call(dk_fn, calls))
            t.append(_per_call(torch_fn, calls))
        d, t = statistics.median(d), statistics.median(t)
        print(f"| {name} | {d * 1e6:.2f} us | {t * 1e6:.2f} us | {d / t:.2f} |", flush=True)


_MEMORY_CHILD = r"""
import resource, sys
import numpy as np, torch, deepkern as dk
from deepkern.bench import Context
from deepkern.bench import train
dk.set_num_threads(1); torch.set_num_threads(1)
which, impl, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rss_kib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
case = next(c for c in train.cases() if c.op == which)
before = rss_kib()
fns = case.setup(Context("cpu"))
fn = fns[impl]
for _ in range(steps):
    fn()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak - before)
"""


def memory(steps):
    print("| training step | deepkern | torch | dk/torch |")
    print("|---|---|---|---|")
    for which in ("resnet18_adam_step", "charlm_lstm_adam_step"):
        growth = {}
        for impl in ("deepkern", "torch"):
            out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, which, impl, str(steps)], check=True,
                                 capture_output=True, text=True).stdout
            growth[impl] = int(out.split()[-1]) / 1024
        print(f"| {which} | {growth['deepkern']:.0f} MiB | {growth['torch']:.0f} MiB | "
              f"{growth['deepkern'] / growth['torch']:.2f} |", flush=True)


HEADLINE = ("conv2d[resnet3x3", "conv2d_fwd_bwd[resnet3x3", "conv2d_fwd_bwd[vgg3x3", "conv2d[lenet5x5",
            "matmul[64x4096x4096", "lstm_forward[", "sdpa_fwd[B=8,H=8,L=512,D=64,float32", "_adam_step[")


def scaling(repeat, patterns):
    from deepkern import bench

    cases = [c for c in bench.load_cases(("conv", "gemm", "rnn", "attention", "train"))
             if any(p in c.id for p in patterns)]
    results = {}
    for n in (1, 2):
        with bench.threads(n):
            for c in cases:
                orig = c.setup

                def setup(ctx, orig=orig):
                    fns = orig(ctx)
                    fns.pop("reference", None)
                    return fns
                r = bench.run([bench.Case(c.family, c.op, c.shape, setup, c.flops, c.bytes, c.dtype, c.preallocated)],
                              repeat=repeat, progress=False)[0]
                results[c.id, n] = r.seconds
                print(f"{c.id} threads={n}: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in r.seconds.items()),
                      file=sys.stderr, flush=True)
    peak = {n: bench.measured_peak_gflops(n) for n in (1, 2)}
    print(f"measured fp32 peak: {peak[1]:.0f} GFLOP/s on 1 core, {peak[2]:.0f} on 2")
    print("| case | dk 1t | torch 1t | dk/torch 1t | dk 2t | torch 2t | dk/torch 2t | dk 1->2 | torch 1->2 "
          "| dk % peak 1t | dk % peak 2t |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for c in cases:
        s1, s2 = results[c.id, 1], results[c.id, 2]
        d1, d2, t1, t2 = s1["deepkern"], s2["deepkern"], s1.get("torch"), s2.get("torch")

        def ms(t):
            return "-" if t is None else f"{t * 1e3:.2f} ms"

        def ratio(a, b):
            return "-" if not a or not b else f"{a / b:.2f}"
        pct = [f"{100 * c.flops / d / 1e9 / peak[n]:.0f}%" if c.flops else "-" for n, d in ((1, d1), (2, d2))]
        print(f"| {c.id} | {ms(d1)} | {ms(t1)} | {ratio(d1, t1)} | {ms(d2)} | {ms(t2)} | {ratio(d2, t2)} "
              f"| {ratio(d1, d2)} | {ratio(t1, t2)} | {pct[0]} | {pct[1]} |", flush=True)


def conv_algorithms(repeat):
    import deepkern as dk
    from deepkern import bench

    def forced(fn, name):
        def run():
            dk._cpu.set_conv_algorithm(name)
            try:
                return fn()
            finally:
                dk._cpu.set_conv_algorithm(None)
        return run

    cases = [c for c in bench.load_cases(("conv",)) if "3x3" in c.shape]
    print("| case | im2col | winograd | torch | im2col/torch | winograd/torch |")
    print("|---|---|---|---|---|---|")
    with bench.threads(1):
        ctx = bench.Context("cpu")
        for c in cases:
            fns = c.setup(ctx)
            impls = {"im2col": forced(fns["deepkern"], "im2col"), "winograd": forced(fns["deepkern"], "winograd")}
            if fns.get("torch") is not None:
                impls["torch"] = fns["torch"]
            t = {k: statistics.median(v) for k, v in
                 bench.time_interleaved(impls, repeat, 1, clock=time.thread_time).items()}
            tt = t.get("torch")
            r = (lambda a: f"{a / tt:.2f}") if tt else (lambda a: "-")
            print(f"| {c.id} | {t['im2col'] * 1e3:.2f} ms | {t['winograd'] * 1e3:.2f} ms | "
                  f"{tt * 1e3 if tt else float('nan'):.2f} ms | {r(t['im2col'])} | {r(t['winograd'])} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("overhead", "memory", "threads", "conv-algorithms"))
    p.add_argument("--calls", type=int, default=20000, help="calls per timed round (overhead)")
    p.add_argument("--steps", type=int, default=3, help="training steps per process (memory)")
    p.add_argument("--repeat", type=int, default=5, help="timed rounds per case (threads)")
    p.add_argument("--cases", nargs="+", default=HEADLINE, help="substrings of the case ids to run (threads)")
    args = p.parse_args()
    if args.what == "overhead":
        overhead(args.calls)
    elif args.what == "memory":
        memory(args.steps)
    elif args.what == "threads":
        scaling(args.repeat, args.cases)
    else:
        conv_algorithms(args.repeat)


if __name__ == "__main__":
    main()
