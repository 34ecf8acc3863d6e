import numpy as np

from deepkern import bench


def _flat(result):
    if isinstance(result, tuple):
        return [a for r in result for a in _flat(r)]
    return [np.array(result.numpy() if hasattr(result, "numpy") else result, copy=True)]


def test_conv_cases_compare_the_same_computation():
    """The small conv cases give the same numbers in every implementation: this checks the
    cases' wiring (same inputs, same op, same gradients), not accuracy (tests/ops/test_conv.py)."""
    ctx = bench.Context("cpu")
    small = [c for c in bench.load_cases(["conv"]) if c.flops < 1e8]
    assert len(small) == 2
    for case in small:
        outs = {impl: _flat(fn()) for impl, fn in case.setup(ctx).items()}
        expected = outs.pop("reference")
        for impl, got in outs.items():
            assert len(got) == len(expected), f"{case.id} {impl}"
            for g, e in zip(got, expected):
                # float32 sums of ~40k terms (grad_w) cancel: scale the tolerance by the
                # largest value; it only has to tell the same computation from another one.
                atol = 1e-4 * max(1.0, float(np.abs(e).max()))
                np.testing.assert_allclose(g, e, rtol=1e-4, atol=atol, err_msg=f"{case.id} {impl}")


def test_pool_cases_compare_the_same_computation():
    """Every pool case is registered and its implementations agree (deepkern against PyTorch
    when installed, else against the slower NumPy reference)."""
    ctx = bench.Context("cpu")
    cases = bench.load_cases(["pool"])
    assert len(cases) == 4
    for case in cases:
        fns = case.setup(ctx)
        other = "torch" if "torch" in fns else "reference"
        for g, e in zip(_flat(fns["deepkern"]()), _flat(fns[other]())):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5, err_msg=f"{case.id} {other}")


def test_conv_transpose_cases_compare_the_same_computation():
    """The small conv_transpose cases agree across implementations (wiring, not accuracy)."""
    ctx = bench.Context("cpu")
    small = [c for c in bench.load_cases(["conv_transpose"]) if c.flops < 1e8]
    assert len(small) == 2
    for case in small:
        outs = {impl: _flat(fn()) for impl, fn in case.setup(ctx).items()}
        expected = outs.pop("reference")
        for impl, got in outs.items():
            assert len(got) == len(expected), f"{case.id} {impl}"
            for g, e in zip(got, expected):
                atol = 1e-4 * max(1.0, float(np.abs(e).max()))
                np.testing.assert_allclose(g, e, rtol=1e-4, atol=atol, err_msg=f"{case.id} {impl}")
