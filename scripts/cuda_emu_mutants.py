#!/usr/bin/env python3
"""The emulated CUDA backend's mutation self-test: bugs planted in copies of deepkern's real
kernels, each of which the emulated test suite must catch (docs/cuda_emu.md).

Each mutant is one exact textual edit of one file of csrc/cuda. The kernel translation units
that see the file are recompiled with the flags of the base build for the mutant's mode
(plain, asan or tsan: build/cuda-emu-<mode>, from scripts/cuda_emu.sh), the emulated module is
relinked with them, and the family's `cuda` tests run on it. A mutant is caught when the run
fails with the report its mode promises: the emulator's own error for barrier divergence and
bad warp masks, an AddressSanitizer report for out-of-bounds accesses, a ThreadSanitizer report
for races (inside a block, and between blocks, which only concurrent blocks expose).

usage: scripts/cuda_emu_mutants.py [--root DIR] [name ...]   (via: bash scripts/cuda_emu.sh mutants)
Prints one line per mutant, then "N caught, M missed"; exits 1 if any was missed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Mutant:
    name: str
    mode: str      # plain | asan | tsan
    file: str      # under csrc/cuda
    old: str       # must occur exactly once
    new: str
    tests: list    # pytest arguments selecting the family's cuda tests
    what: str


RACE = r"WARNING: ThreadSanitizer: data race"
# An out-of-bounds index into a static array is UBSan's bounds check (the asan mode runs both).
OOB = r"ERROR: AddressSanitizer: [a-z-]*(overflow|out-of-bounds)|runtime error: index -?\d+ out of bounds"
EMU = r"cuda_emu: in .*: "
EXPECT = {"tsan": RACE, "asan": OOB, "plain": EMU}

MUTANTS = [
    Mutant("race_softmax_block", "tsan", "row_reduce.cuh",
           "    if (lane == 0) partial[warp] = a;\n    __syncthreads();\n",
           "    if (lane == 0) partial[warp] = a;\n",
           ["tests/ops/test_softmax.py", "-k", "test_long_and_short_rows and cuda"],
           "missing __syncthreads between the per-warp shared writes and warp 0's reads"),
    Mutant("race_conv_tile", "tsan", "conv.cu",
           "        for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];\n    }\n    __syncthreads();\n",
           "        for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];\n    }\n",
           ["tests/ops/test_conv.py", "-m", "cuda", "-x"],
           "missing __syncthreads before the next k-step overwrites the As/Bs tiles"),
    Mutant("race_between_blocks", "tsan", "activation.cu",
           "  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)\n"
           "    y[i] = act_forward(act, x[i], slope);",
           "  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)blockDim.x)\n"
           "    y[i] = act_forward(act, x[i], slope);",
           ["tests/ops/test_activation.py", "-k", "test_many_blocks and cuda"],
           "grid-stride step of one block: blocks overwrite each other's outputs (same values, a race)"),
    Mutant("oob_global_pool", "asan", "pool.cu",
           "__global__ void max_forward_kernel(PoolArgs a, const T* __restrict__ x, T* __restrict__ y, "
           "int64_t* __restrict__ idx) {\n  const int64_t total = a.planes * a.P * a.Q;\n"
           "  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o < total;",
           "__global__ void max_forward_kernel(PoolArgs a, const T* __restrict__ x, T* __restrict__ y, "
           "int64_t* __restrict__ idx) {\n  const int64_t total = a.planes * a.P * a.Q;\n"
           "  for (int64_t o = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; o <= total;",
           ["tests/ops/test_pool.py", "-k", "max_pool2d and cuda"],
           "max_pool2d forward's grid-stride bound o <= total: one element past y"),
    Mutant("oob_dynamic_shared_nms", "asan", "boxes.cu",
           "for (int w = t; w < col_blocks; w += blockDim.x) removed[w] = 0;",
           "for (int w = t; w <= col_blocks; w += blockDim.x) removed[w] = 0;",
           ["tests/ops/test_boxes.py", "-k", "nms and cuda"],
           "NMS sweep clears one word past its dynamic shared memory"),
    Mutant("oob_static_shared_conv", "asan", "conv.cu",
           "for (int s = blockDim.x / 2; s > 0; s >>= 1) {",
           "for (int s = blockDim.x; s > 0; s >>= 1) {",
           ["tests/ops/test_conv.py", "-m", "cuda", "-x"],
           "conv bias-gradient tree reduction starts at blockDim.x: reads red[tid + 256]"),
    Mutant("partial_mask_shuffle", "plain", "row_reduce.cuh",
           "return {__shfl_xor_sync(kFullMask, m, offset), __shfl_xor_sync(kFullMask, s, offset)};",
           "return {__shfl_xor_sync(0xffffu, m, offset), __shfl_xor_sync(0xffffu, s, offset)};",
           ["tests/ops/test_softmax.py", "-m", "cuda", "-x"],
           "shuffle mask names lanes 0-15 while all 32 lanes call it"),
    Mutant("divergent_syncthreads", "plain", "row_reduce.cuh",
           "    if (lane == 0) partial[warp] = a;\n    __syncthreads();\n",
           "    if (lane == 0) {\n      partial[warp] = a;\n      __syncthreads();\n    }\n",
           ["tests/ops/test_softmax.py", "-m", "cuda", "-x"],
           "__syncthreads inside `if (lane == 0)`"),
]


def sanitizer_env(mode: str) -> dict:
    env = dict(os.environ, HYPOTHESIS_PROFILE="sanitize", DK_CUDA_EMU_WATCHDOG="30")
    if mode == "plain":
        return env
    lib = {"asan": "libasan.so", "tsan": "libtsan.so"}[mode]
    gxx = lambda name: subprocess.run(["g++", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
    env["LD_PRELOAD"] = f"{gxx(lib)} {gxx('libstdc++.so.6')}"
    if mode == "asan":
        env["ASAN_OPTIONS"] = "detect_leaks=0:halt_on_error=1:abort_on_error=1"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    else:
        env.update(TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:report_signal_unsafe=0", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1")
    return env


def affected_units(csrc: str, file: str) -> list:
    """The kernel sources (stems of csrc/cuda/*.cu) that are, or include, `file`."""
    stems = []
    for name in sorted(os.listdir(os.path.join(csrc, "cuda"))):
        if not name.endswith(".cu"):
            continue
        text = open(os.path.join(csrc, "cuda", name)).read()
        if name == file or f'#include "cuda/{file}"' in text:
            stems.append(name[:-3])
    return stems


def build_mutant(m: Mutant, root: str, base: str, work: str) -> str:
    """Copies csrc with the edit into `work`, recompiles what it touches with the base build's
    flags, relinks the module into work/cuda_emu. Returns the build folder to test."""
    csrc = os.path.join(work, "csrc")
    shutil.copytree(os.path.join(root, "csrc"), csrc)
    path = os.path.join(csrc, "cuda", m.file)
    text = open(path).read()
    if text.count(m.old) != 1:
        raise RuntimeError(f"the edit site occurs {text.count(m.old)} times in csrc/cuda/{m.file} (must be once)")
    open(path, "w").write(text.replace(m.old, m.new))

    commands = json.load(open(os.path.join(base, "compile_commands.json")))
    objdir = os.path.join(work, "obj")
    os.makedirs(objdir)
    objects = []
    for stem in affected_units(csrc, m.file):
        entry = next(c for c in commands if c["file"].endswith(f"cuda_emu/src/{stem}.cpp"))
        args = shlex.split(entry["command"])
        out = args.index("-o")
        obj = os.path.join(objdir, os.path.basename(args[out + 1]))
        args[out + 1] = obj
        if "-MF" in args:  # no dependency files
            i = args.index("-MF")
            del args[i:i + 2]
        args = [a for a in args if a not in ("-MD", "-MMD")]
        args.insert(1, f"-I{csrc}")  # the mutated sources shadow the originals
        subprocess.run(args, cwd=entry["directory"], check=True, capture_output=True, text=True)
        objects.append(obj)

    # The kernel library with the recompiled members replaced, then the module.
    lib = os.path.join(work, "libdk_cuda_emu_kernels.a")
    shutil.copy(os.path.join(base, "libdk_cuda_emu_kernels.a"), lib)
    subprocess.run(["ar", "r", lib, *objects], check=True, capture_output=True)
    bindings = []
    for folder, _, files in os.walk(os.path.join(base, "CMakeFiles", "_cuda_emu.dir")):
        bindings += [os.path.join(folder, f) for f in files if f.endswith(".o")]
    flags = {"plain": [], "asan": ["-fsanitize=address,undefined"], "tsan": ["-fsanitize=thread"]}[m.mode]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    os.makedirs(os.path.join(work, "cuda_emu"))
    subprocess.run(["g++", "-shared", *flags, "-o", os.path.join(work, "cuda_emu", f"_cuda{suffix}"), *bindings, lib,
                    "-pthread"], check=True, capture_output=True, text=True)
    for name in os.listdir(base):
        if name.startswith("_cpu") and name.endswith(".so"):
            os.symlink(os.path.join(base, name), os.path.join(work, name))
    return work


def first_report(output: str, pattern: str):
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            frame = next((re.sub(r".*?(cuda/[\w.]+:\d+).*", r"\1", l) for l in lines[i:i + 60]
                          if re.search(r"csrc/cuda/[\w.]+:\d+", l)), "")
            report = re.sub(r"^.*?(ThreadSanitizer|AddressSanitizer|cuda_emu)", r"\1", line.strip())
            report = re.sub(r" \(pid=\d+\)| on address 0x[0-9a-f]+.*", "", report)
            return report[:150] + (f" [{frame}]" if frame else "")
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        sys.exit(f"unknown mutants: {sorted(unknown)}; known: {[m.name for m in MUTANTS]}")
    caught = 0
    for m in chosen:
        base = os.path.join(args.root, "build", f"cuda-emu-{m.mode}")
        t0 = time.time()
        with tempfile.TemporaryDirectory(prefix=f"mutant-{m.name}-") as work:
            try:
                build = build_mutant(m, args.root, base, work)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                detail = getattr(e, "stderr", "") or str(e)
                print(f"missed  {m.name} [{m.mode}] {m.what}: the mutant did not build: {detail.strip()[-300:]}")
                continue
            env = sanitizer_env(m.mode)
            env.update(DEEPKERN_CUDA_EMU_BUILD=build,
                       PYTHONPATH=os.pathsep.join(filter(None, [os.path.join(args.root, "python"),
                                                                env.get("PYTHONPATH")])))
            # -s: a sanitizer aborts the process, and output pytest captured would be lost with it.
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *m.tests],
                                 cwd=args.root, env=env, capture_output=True, text=True, timeout=1800)
        report = first_report(run.stdout + run.stderr, EXPECT[m.mode]) if run.returncode != 0 else None
        status = "caught" if report else "missed"
        caught += report is not None
        detail = report or (f"tests passed" if run.returncode == 0 else
                            f"failed without the expected report: {(run.stdout + run.stderr).strip()[-300:]}")
        print(f"{status}  {m.name} [{m.mode}] {m.what}: {detail} ({time.time() - t0:.0f} s)", flush=True)
    print(f"{caught} caught, {len(chosen) - caught} missed")
    sys.exit(0 if caught == len(chosen) else 1)


if __name__ == "__main__":
    main()
