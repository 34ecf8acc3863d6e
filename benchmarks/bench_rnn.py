"""RNN cases of deepkern.bench.rnn under pytest-benchmark (see conftest.py)."""
FAMILY = "rnn"


def test_rnn(bench_case):
    bench_case()
