import sys
import types

import numpy as np
import pytest

import deepkern as dk
from deepkern import bench, cli


def _tiny_cases():
    def setup(ctx):
        a = ctx.randn(8, 8)
        fns = {"deepkern": lambda: dk.ops.matmul(a, a), "reference": lambda: a @ a}
        if ctx.torch is not None:
            ta = ctx.tensor(a)
            fns["torch"] = lambda: ta @ ta
        return fns

    def setup_no_torch(ctx):
        x = ctx.randn(100)
        return {"deepkern": lambda: dk.ops.relu(x), "reference": lambda: np.maximum(x, 0)}

    return [bench.Case("tiny", "matmul", "8x8x8", setup, flops=2 * 8**3),
            bench.Case("tiny", "relu", "100", setup_no_torch, bytes=800, preallocated=True)]


@pytest.fixture
def tiny_family(monkeypatch):
    module = types.ModuleType("deepkern.bench.tiny")
    module.cases = _tiny_cases
    monkeypatch.setitem(sys.modules, "deepkern.bench.tiny", module)
    monkeypatch.setattr(bench, "FAMILIES", bench.FAMILIES + ("tiny",))
    return module


def test_runner_times_every_available_implementation(tiny_family):
    results = bench.run(bench.load_cases(["tiny"]), repeat=2, warmup=1, progress=False)
    assert [r.case.id for r in results] == ["tiny.matmul[8x8x8,float32]", "tiny.relu[100,float32]"]
    for r in results:
        assert {"deepkern", "reference"} <= set(r.seconds)
        assert all(s > 0 for s in r.seconds.values())
    assert "torch" not in results[1].seconds


@pytest.mark.parametrize("markdown", [False, True])
def test_table_has_the_expected_columns(tiny_family, markdown):
    results = bench.run(bench.load_cases(["tiny"]), repeat=1, progress=False)
    table = bench.format_table(results, markdown=markdown, peak=100.0, threads=2)
    lines = table.splitlines()
    header = [h.strip() for h in lines[0].strip("| ").split("|" if markdown else "  ") if h.strip()]
    assert header == ["op", "shape", "dtype", "out", "deepkern", "numpy", "torch", "dk/torch", "rate", "% peak"]
    assert len(lines) == 2 + len(results)
    matmul_row, relu_row = lines[2], lines[3]
    assert "GFLOP/s" in matmul_row and "%" in matmul_row and "fresh" in matmul_row
    assert "GB/s" in relu_row and "prealloc" in relu_row
    if markdown:
        assert all(line.count("|") == 11 for line in lines)


def test_cli_bench_lists_and_runs_cases(tiny_family, capsys):
    assert cli.main(["bench", "tiny", "--list"]) == 0
    assert capsys.readouterr().out.split() == ["tiny.matmul[8x8x8,float32]", "tiny.relu[100,float32]"]
    before = dk.get_num_threads()
    assert cli.main(["bench", "tiny", "--threads", "1", "--repeat", "1", "--markdown"]) == 0
    assert dk.get_num_threads() == before  # the thread settings are restored
    out = capsys.readouterr().out
    assert "threads=1" in out and "| op | shape |" in out and "| matmul | 8x8x8 |" in out


def test_cpu_time_clock_needs_one_cpu_thread(tiny_family, capsys):
    results = bench.run(bench.load_cases(["tiny"]), repeat=1, progress=False, cpu_time=True)
    assert all(s >= 0 for r in results for s in r.seconds.values())
    assert cli.main(["bench", "tiny", "--threads", "2", "--cpu-time"]) == 2
    assert capsys.readouterr().err.startswith("deepkern bench: --cpu-time: needs --threads 1")
    with pytest.raises(ValueError, match="cpu_time needs device='cpu'"):
        bench.run([], device="cuda", cpu_time=True)


def test_unknown_family_is_an_error():
    with pytest.raises(ValueError, match=r"bench: unknown family 'nope'; known: gemm(, \w+)*$"):
        bench.load_cases(["nope"])


def _host(result):
    if isinstance(result, tuple):
        return tuple(_host(r) for r in result)
    return np.array(result.numpy() if hasattr(result, "numpy") else result, copy=True)


def test_gemm_cases_compare_the_same_computation():
    """Every implementation of the small GEMM cases computes the same numbers. This checks the
    cases' wiring (same inputs, same op), not accuracy, which tests/ops/test_gemm.py covers
    with the reference rule; the tolerance only has to separate "same" from "different"."""
    ctx = bench.Context("cpu")
    small = [c for c in bench.load_cases(["gemm"]) if c.flops < 1e8]
    assert len(small) >= 2
    for case in small:
        fns = case.setup(ctx)
        outs = {impl: _host(fn()) for impl, fn in fns.items()}
        expected = outs.pop("reference")
        for impl, got in outs.items():
            pairs = zip(got, expected) if isinstance(got, tuple) else [(got, expected)]
            for g, e in pairs:
                np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-3, err_msg=f"{case.id} {impl}")


def test_peak_is_measured_once_and_used_for_percent_of_peak(tiny_family, monkeypatch):
    calls = []
    monkeypatch.setattr(bench, "_PEAKS", {})
    real = dk._cpu.measure_peak_gflops
    monkeypatch.setattr(dk._cpu, "measure_peak_gflops", lambda t, d: calls.append((t, d)) or real(t, d, 0.05))
    one = bench.measured_peak_gflops(1)
    assert np.isfinite(one) and one > 0 and bench.measured_peak_gflops(1) == one and calls == [(1, False)]
    assert bench.measured_peak_gflops(1, "float64") > 0 and calls[-1] == (1, True)
    results = bench.run(bench.load_cases(["tiny"]), repeat=1, progress=False)
    row = bench.format_table(results, threads=1).splitlines()[2]
    gflops = float(row.split(" GFLOP/s")[0].split()[-1])
    assert row.rstrip().endswith(f"{100 * gflops / one:.0f}%")
    with pytest.raises(ValueError, match="measure_peak_gflops: threads must be >= 1, got 0"):
        real(0)


def test_timed_calls_are_interleaved_with_the_order_rotated():
    log = []
    fns = {name: (lambda name=name: log.append(name)) for name in ("deepkern", "reference", "torch")}
    ticks = iter(range(1000))
    samples = bench.time_interleaved(fns, repeat=3, warmup=1, clock=lambda: next(ticks), idle=False)
    assert log == ["deepkern", "reference", "torch",                      # warmup
                   "deepkern", "reference", "torch", "reference", "torch", "deepkern",
                   "torch", "deepkern", "reference"]
    assert samples == {name: [1, 1, 1] for name in fns}


def test_median_and_spread():
    r = bench.Result(bench.Case("x", "op", "1", setup=None), {"deepkern": 2.0},
                     {"deepkern": [1.0, 2.0, 2.0, 3.0, 10.0]})
    assert r.spread("deepkern") == pytest.approx((3.0 - 2.0) / 2 / 2.0)
    assert r.spread("torch") == 0.0


@pytest.mark.parametrize("op", ["charlm_lstm_adam_step", "dates_seq2seq_adam_step"])
def test_sequence_training_step_cases_train_the_same_model_as_pytorch(op):
    """The LSTM language-model and dates seq2seq step cases: setup raises when the PyTorch
    model's parameter count differs from deepkern's; then one step of each runs."""
    from deepkern.bench import train
    case = next(c for c in train.cases() if c.op == op)
    fns = case.setup(bench.Context("cpu"))
    assert case.flops > 0 and set(fns) <= {"deepkern", "torch"}
    for fn in fns.values():
        fn()
