import datetime as dt

import numpy as np
import pytest

from deepkern.text.dates import FORMATS, format_date, generate_dates, parse_date
from deepkern.text.vocab import Vocab


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_parses_back(fmt):
    rng = np.random.default_rng(len(fmt))
    for o in rng.integers(dt.date(1950, 1, 1).toordinal(), dt.date(2049, 12, 31).toordinal(), 50):
        d = dt.date.fromordinal(int(o))
        assert parse_date(format_date(d, fmt)) == d.isoformat(), format_date(d, fmt)


def test_generator_is_seeded_and_consistent():
    a, b = generate_dates(300, seed=5), generate_dates(300, seed=5)
    assert a == b and a != generate_dates(300, seed=6)
    assert len({h for h, _ in a}) > 250
    for human, machine in a:
        assert len(machine) == 10 and machine[4] == "-" and machine[7] == "-"
        assert parse_date(human) == machine
    assert min(m for _, m in a) < "1950" and max(m for _, m in a) > "2050"


def test_vocab_round_trip():
    pairs = generate_dates(50, seed=1)
    vocab = Vocab("".join(h for h, _ in pairs))
    h = pairs[0][0]
    ids = vocab.encode(h, length=40, eos=True)
    assert ids.dtype == np.int64 and ids.shape == (40,)
    assert vocab.decode(ids) == h
    assert vocab.encode("§")[0] == Vocab.UNK
    words = Vocab("a b a c a b d".split(), min_freq=2, join=" ")
    assert words.itos[4:] == ["a", "b"]
    assert words.decode(words.encode(["b", "a", "c"])) == "b a" and words.encode(["c"])[0] == Vocab.UNK
