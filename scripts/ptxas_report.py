#!/usr/bin/env python3
"""Registers, spills and shared memory of every CUDA kernel, from `nvcc -Xptxas -v` (no GPU
needed): one table row per kernel and architecture. Exits 1 if any of deepkern's kernels spills
registers to local memory, 2 if nvcc is missing or a source does not compile.

usage: python scripts/ptxas_report.py [--arch 80 --arch 90] [--jobs 2] [--markdown]
The architectures default to the build's SASS targets (CUDAARCHS or 80, 90).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENTRY = re.compile(r"Compiling entry function '(\S+)' for '(sm_\d+a?)'")
STACK = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
USED = re.compile(r"Used (\d+) registers(?:.*?, (\d+) bytes smem)?")


def default_archs():
    env = os.environ.get("CUDAARCHS", "")
    archs = [a.split("-")[0] for a in env.replace(",", ";").split(";") if a and "virtual" not in a]
    return archs or ["80", "90"]


def ptxas(source, archs):
    """(kernel, arch, registers, spill stores, spill loads, stack, smem) for each kernel of one file."""
    cmd = ["nvcc", "-std=c++17", "-O3", "--expt-relaxed-constexpr", "-I", os.path.join(ROOT, "csrc"), "-Xptxas", "-v",
           "-c", source, "-o", os.devnull]
    for a in archs:
        cmd += ["-gencode", f"arch=compute_{a},code=sm_{a}"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"{os.path.relpath(source, ROOT)} does not compile:\n{run.stderr[-2000:]}")
    rows, current = [], None
    for line in run.stderr.splitlines():
        if m := ENTRY.search(line):
            current = {"kernel": m.group(1), "arch": m.group(2), "file": os.path.basename(source)}
        elif current and (m := STACK.search(line)):
            current.update(stack=int(m.group(1)), spill_stores=int(m.group(2)), spill_loads=int(m.group(3)))
        elif current and (m := USED.search(line)):
            current.update(registers=int(m.group(1)), smem=int(m.group(2) or 0))
            rows.append(current)
            current = None
    return rows


def demangle(names):
    if not shutil.which("c++filt"):
        return names
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    # "void dk::cuda::(anonymous namespace)::k<float>(args)" -> "k<float>"
    short = []
    for name in out:
        name = re.sub(r"^void ", "", name)
        name = re.sub(r"\((?![^()]*\)[^()]*>).*\)$", "", name)  # the parameter list
        name = re.sub(r"\(anonymous namespace\)::|\bdk::cuda::|\bdk::", "", name)
        if name.startswith("cub::"):  # CUB's own kernels (boxes.cu's radix sort): name only
            name = "cub::" + re.sub(r"<.*", "<...>", name.split("::")[-1] if "<" not in name else
                                    name[:name.index("<")].split("::")[-1] + name[name.index("<"):])
        short.append(name)
    return short


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", action="append", help="SM architecture, e.g. 90 (repeatable)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", "2")))
    parser.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = parser.parse_args()
    if not shutil.which("nvcc"):
        print("ptxas_report: nvcc is not on PATH", file=sys.stderr)
        sys.exit(2)
    archs = args.arch or default_archs()
    sources = sorted(glob.glob(os.path.join(ROOT, "csrc", "cuda", "*.cu")))
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        try:
            rows = [r for rs in pool.map(lambda s: ptxas(s, archs), sources) for r in rs]
        except RuntimeError as e:
            print(f"ptxas_report: {e}", file=sys.stderr)
            sys.exit(2)
    for r, name in zip(rows, demangle([r["kernel"] for r in rows])):
        r["name"] = name
    rows.sort(key=lambda r: (r["file"], r["name"], r["arch"]))
    header = ["file", "kernel", "arch", "registers", "spill stores", "spill loads", "stack", "static smem"]
    table = [[r["file"], r["name"], r["arch"], r["registers"], r["spill_stores"], r["spill_loads"], r["stack"], r["smem"]]
             for r in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for t in table:
            print("| " + " | ".join(str(c) for c in t) + " |")
    else:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *table)]
        for t in [header] + table:
            print("  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(t, widths))))
    # deepkern's kernels must not spill; CUB's (instantiated by boxes.cu) are shown, not judged.
    spills = [r for r in rows if (r["spill_stores"] or r["spill_loads"]) and not r["name"].startswith("cub::")]
    print(f"{len(rows)} kernels x architectures, {len(sources)} sources, "
          f"max {max((r['registers'] for r in rows), default=0)} registers, {len(spills)} spilling")
    for r in spills:
        print(f"SPILL: {r['name']} ({r['file']}, {r['arch']}): {r['spill_stores']} bytes stored, "
              f"{r['spill_loads']} loaded", file=sys.stderr)
    sys.exit(1 if spills else 0)


if __name__ == "__main__":
    main()
