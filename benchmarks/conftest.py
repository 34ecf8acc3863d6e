"""pytest-benchmark front-end over deepkern.bench's case registry (the other front-end is
``deepkern bench``): one definition of each case, two ways to run it.

    python -m pytest benchmarks --benchmark-enable                  # all families
    python -m pytest benchmarks/bench_gemm.py --benchmark-enable --bench-threads 2

A family's file is ``FAMILY = "<family>"`` and ``def test_<family>(bench_case): bench_case()``.
Tests are parametrized over the family's cases x implementations (deepkern, reference,
torch); ``benchmark.group`` is the case, so each table compares the three on one input.
Without --benchmark-enable (the project's default) each runs once, as a smoke test.
"""
import pytest

from deepkern import bench


def pytest_addoption(parser):
    parser.addoption("--bench-threads", type=int, default=2, help="CPU threads for deepkern, NumPy and PyTorch")
    parser.addoption("--bench-device", choices=("cpu", "cuda"), default="cpu")


def pytest_generate_tests(metafunc):
    if "bench_case" in metafunc.fixturenames:
        cases = bench.load_cases([metafunc.module.FAMILY])
        metafunc.parametrize("case", cases, ids=[c.id for c in cases], scope="module")
        metafunc.parametrize("impl", bench.IMPLS)


@pytest.fixture(scope="session")
def bench_context(request):
    with bench.threads(request.config.getoption("--bench-threads")):
        yield bench.Context(request.config.getoption("--bench-device"))


@pytest.fixture(scope="module")
def case_functions(case, bench_context):
    """The case's callables, built once per case and shared by its implementations."""
    return case.setup(bench_context)


@pytest.fixture
def bench_case(request, case, impl, case_functions, bench_context):
    """A function that times ``impl`` on ``case`` with pytest-benchmark."""
    fn = case_functions.get(impl)
    if fn is None:
        pytest.skip(f"{impl} is not available for {case.id}")
    benchmark = request.getfixturevalue("benchmark")  # only now: an unused fixture warns (an error here)
    benchmark.group = case.id
    benchmark.extra_info.update(flops=case.flops, bytes=case.bytes, preallocated=case.preallocated)

    def call():
        fn()
        bench_context.synchronize()

    return lambda: benchmark(call)
