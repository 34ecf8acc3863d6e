"""deepkern.bench: one registry of benchmark cases and a runner that prints comparison tables.

Each op family describes its cases once, in ``deepkern/bench/<family>.py``::

    def cases():
        return [Case("gemm", "matmul", "1024x1024x1024", setup=..., flops=2 * 1024**3), ...]

and adds its name to ``FAMILIES`` below. Two front-ends run the same cases: ``deepkern bench
[family ...]`` (this module's :func:`run` and :func:`format_table`) and pytest-benchmark
(``python -m pytest benchmarks --benchmark-enable``, see benchmarks/conftest.py).

A case's ``setup(ctx)`` builds its inputs lazily (only when the case runs) and returns a dict
of zero-argument callables, one per implementation on the *same* inputs: ``"deepkern"``
always, ``"reference"`` (deepkern.reference's NumPy code on the CPU; on the GPU the same
computation on CuPy arrays) and ``"torch"`` when PyTorch is importable (``ctx.torch`` is then
the module, else None). ``preallocated`` says whether the callables write into output
buffers made once in setup (True) or allocate their outputs on every call (False): a fresh
large output pays page faults, so tables state it.

Timing (trustworthy on a small, shared machine): each implementation runs ``warmup``
untimed calls, then ``repeat`` rounds in which every implementation is timed once, in an
order rotated from round to round, so a slow phase of the machine hits them all alike
(interleaving). Before each timed call the runner waits until the process's other threads
are idle: a BLAS library's workers (OpenBLAS spins for a while after a call) or an OpenMP
team would otherwise take cores from the next implementation. NumPy's BLAS is limited to the
benchmark's thread count with threadpoolctl (``threads``). Each implementation's median and
spread (half the interquartile range, relative to the median) are reported; ``Result.samples``
keeps every time. time.perf_counter times (synchronizing the GPU after each call on CUDA);
``cpu_time=True`` times with time.thread_time instead (CPU time of the calling thread), which
holds on a busy machine when everything runs on one thread.

Machine peak (for the "% peak" column) is measured, not estimated from a nominal clock (an
estimate gave "115%" under turbo): ``measured_peak_gflops(threads, dtype)`` runs a
register-only FMA loop on the widest vectors the CPU has, on ``threads`` cores
(deepkern._cpu.measure_peak_gflops, csrc/cpu/peak.cpp), once per process. ``peak``
(``--peak GFLOPS``) overrides it; on the GPU there is no automatic peak: pass --peak.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

FAMILIES = ("gemm", "conv", "conv_transpose", "pool", "softmax", "gram", "loss", "norm", "rnn", "attention", "embedding",
            "boxes", "optim", "distance", "metric_loss", "train", "generative")
IMPLS = ("deepkern", "reference", "torch")


@dataclass
class Context:
    """What a case's setup needs: the device, its array module, and PyTorch if usable there."""
    device: str = "cpu"
    seed: int = 0
    xp: object = field(init=False)
    torch: object = field(init=False)

    def __post_init__(self):
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"bench: device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda":
            from .. import cuda
            cuda.extension()  # a clear error when no GPU is usable
            import cupy
            self.xp = cupy
        else:
            self.xp = np
        self.torch = _torch_for(self.device)
        self.rng = np.random.default_rng(self.seed)

    def randn(self, *shape, dtype="float32"):
        """Standard normal values on the case's device."""
        return self.xp.asarray(self.rng.standard_normal(shape).astype(dtype))

    def tensor(self, a):
        """A PyTorch tensor on the same device (sharing memory on the CPU, via DLPack on CUDA)."""
        if self.device == "cpu":
            return self.torch.from_numpy(a)
        return self.torch.from_dlpack(a)

    def synchronize(self):
        if self.device == "cuda":
            self.xp.cuda.get_current_stream().synchronize()
            if self.torch is not None:
                self.torch.cuda.synchronize()


@dataclass
class Case:
    """One benchmark: an op at one shape. ``flops`` (or ``bytes``) per call sets the rate column."""
    family: str
    op: str
    shape: str
    setup: Callable[[Context], dict]
    flops: float = 0.0
    bytes: float = 0.0
    dtype: str = "float32"
    preallocated: bool = False

    @property
    def id(self) -> str:
        return f"{self.family}.{self.op}[{self.shape},{self.dtype}]"


@dataclass
class Result:
    case: Case
    seconds: dict  # impl -> median seconds (missing when the implementation is unavailable)
    samples: dict = field(default_factory=dict)  # impl -> every timed call's seconds

    def spread(self, impl) -> float:
        """Half the interquartile range of ``impl``'s times, relative to their median."""
        times = sorted(self.samples.get(impl, ()))
        if len(times) < 2 or not self.seconds.get(impl):
            return 0.0
        q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive")
        return (q3 - q1) / 2 / self.seconds[impl]


def _torch_for(device):
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    return torch


def load_cases(families=None) -> list:
    """The cases of the given families (all of FAMILIES when None), in registry order."""
    families = FAMILIES if not families else tuple(families)
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"bench: unknown family {unknown[0]!r}; known: {', '.join(FAMILIES)}")
    cases = []
    for family in families:
        cases.extend(importlib.import_module(f"{__name__}.{family}").cases())
    return cases


def wait_idle(max_wait=0.25, quantum=0.002):
    """Return once the process's threads other than this one have been idle for ``quantum``
    seconds (their CPU time stopped growing), or after ``max_wait``: BLAS and OpenMP workers
    spin for a while after a call, and would compete with the next timed call."""
    deadline = time.perf_counter() + max_wait
    while True:
        before = time.process_time() - time.thread_time()
        time.sleep(quantum)
        busy = (time.process_time() - time.thread_time()) - before
        if busy < 0.1 * quantum or time.perf_counter() > deadline:
            return


def time_interleaved(fns, repeat=5, warmup=1, synchronize=lambda: None, clock=time.perf_counter, idle=True) -> dict:
    """``{name: [seconds of each timed call]}`` for the callables ``fns`` ({name: fn}): warmup
    calls each, then ``repeat`` rounds timing every callable once, the order rotated each
    round, waiting for idle threads (``wait_idle``) before each timed call."""
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
        synchronize()
    samples = {name: [] for name in names}
    for rnd in range(max(1, repeat)):
        k = rnd % len(names) if names else 0
        for name in names[k:] + names[:k]:
            if idle:
                wait_idle()
            t0 = clock()
            fns[name]()
            synchronize()
            samples[name].append(clock() - t0)
    return samples


@contextlib.contextmanager
def threads(n):
    """Within the block, deepkern, PyTorch and NumPy's BLAS (via threadpoolctl, when
    installed) use ``n`` CPU threads; the previous settings come back afterwards."""
    import deepkern as dk
    torch = _torch_for("cpu")
    before = (dk.get_num_threads(), torch.get_num_threads() if torch is not None else None)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=n)
    except ImportError:
        limits = None
    dk.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        dk.set_num_threads(before[0])
        if torch is not None:
            torch.set_num_threads(before[1])
        if limits is not None:
            limits.restore_original_limits()


def run(cases, repeat=5, warmup=1, device="cpu", progress=True, cpu_time=False) -> list:
    """Time every case's implementations; returns a list of :class:`Result`.

    ``cpu_time``: time with the calling thread's CPU time (see the module docstring); only
    meaningful for CPU runs with one thread.
    """
    from tqdm import tqdm

    if cpu_time and device != "cpu":
        raise ValueError("bench: cpu_time needs device='cpu'")
    clock = time.thread_time if cpu_time else time.perf_counter
    ctx = Context(device)
    results = []
    bar = tqdm(cases, desc="bench", unit="case", disable=not progress, leave=False)
    for case in bar:
        bar.set_postfix_str(case.id)
        fns = case.setup(ctx)
        available = {impl: fns[impl] for impl in IMPLS if fns.get(impl) is not None}
        samples = time_interleaved(available, repeat, warmup, ctx.synchronize, clock)
        results.append(Result(case, {impl: statistics.median(t) for impl, t in samples.items()}, samples))
        del fns, available
    return results


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


_PEAKS: dict = {}


def measured_peak_gflops(threads, dtype="float32") -> float:
    """The measured peak GFLOP/s of ``threads`` cores in ``dtype`` (see the module docstring),
    measured once per process and thread count."""
    from .. import _cpu
    key = (int(threads), np.dtype(dtype) == np.float64)
    if key not in _PEAKS:
        _PEAKS[key] = _cpu.measure_peak_gflops(key[0], key[1])
    return _PEAKS[key]


def _fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


COLUMNS = ("op", "shape", "dtype", "out", "deepkern", "{ref}", "torch", "dk/torch", "rate", "% peak")


def format_table(results, markdown=False, peak=None, threads=None, device="cpu") -> str:
    """The results as a text (or Markdown) table with the columns in COLUMNS.

    Times are medians ± the spread (half the interquartile range, relative). ``rate`` is
    deepkern's GFLOP/s (or GB/s for byte-counted cases); ``% peak`` compares GFLOP/s with
    ``peak`` (GFLOP/s; measured on the CPU for ``threads`` cores when None).
    """
    ref_name = "numpy" if device == "cpu" else "cupy"
    header = [c.format(ref=ref_name) for c in COLUMNS]
    rows = []
    for r in results:
        c, s = r.case, r.seconds
        dk_t, torch_t = s.get("deepkern"), s.get("torch")
        ratio = f"{dk_t / torch_t:.2f}" if dk_t and torch_t else "-"
        rate, pct = "-", "-"
        if dk_t and c.flops:
            gflops = c.flops / dk_t / 1e9
            rate = f"{gflops:.1f} GFLOP/s"
            p = peak if peak else (measured_peak_gflops(threads, c.dtype) if device == "cpu" and threads else 0)
            if p:
                pct = f"{100 * gflops / p:.0f}%"
        elif dk_t and c.bytes:
            rate = f"{c.bytes / dk_t / 1e9:.1f} GB/s"

        def cell(impl):
            t = s.get(impl)
            return "-" if t is None else f"{_fmt_time(t)} ±{100 * r.spread(impl):.0f}%"
        rows.append([c.op, c.shape, c.dtype, "prealloc" if c.preallocated else "fresh", cell("deepkern"),
                     cell("reference"), cell("torch"), ratio, rate, pct])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths))] +
                     [fmt.format(*row) for row in rows])


def describe(threads, device="cpu", peak=None, cpu_time=False) -> str:
    """One paragraph about the machine and software the numbers came from."""
    import deepkern as dk
    info = dk.info()
    torch = _torch_for(device)
    clock = "CPU time of the calling thread" if cpu_time else "wall time"
    parts = [f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs), threads={threads}, median {clock} ± half the "
             "interquartile range; implementations interleaved, each timed call after the others' threads idled",
             f"deepkern {info['version']} (gemm kernel {info['gemm_kernel']}), numpy {np.__version__}, "
             f"torch {torch.__version__ if torch is not None else 'not available'}"]
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{p['internal_api']} {p.get('version')} {p.get('architecture', '')}".strip()
                for p in threadpool_info() if p.get("user_api") == "blas"]
        if blas:
            parts.append("numpy BLAS: " + ", ".join(blas))
    except ImportError:
        parts.append("numpy BLAS threads not limited (pip install threadpoolctl)")
    if device == "cpu":
        p = peak or measured_peak_gflops(threads)
        parts.append(f"fp32 peak used for % peak: {p:.0f} GFLOP/s" +
                     (" (given)" if peak else f" (measured: FMA loop on {threads} threads)"))
    else:
        parts.append(f"GPU: {dk.cuda.device_name()}")
    return "\n".join(parts)
