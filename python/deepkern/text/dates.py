"""Human-readable dates and their machine form YYYY-MM-DD: the course's date-normalization data.

    pairs = generate_dates(1000, seed=0)   # [("tuesday 10/21/2008", "2008-10-21"), ...]

Dates are written in one of FORMATS, chosen uniformly, and drawn uniformly from
1900-01-01 .. 2099-12-31 — or, for the formats with a two-digit year ("1 April 09"), from
1950-01-01 .. 2049-12-31, where yy means 2000-2049 for 00-49 and 1950-1999 for 50-99 (the rule
parse_date applies), so every human form has exactly one machine form. Generation is
deterministic for a seed.
"""
from __future__ import annotations

import datetime as _dt
import re

import numpy as np

__all__ = ["FORMATS", "format_date", "generate_dates", "parse_date"]

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _ordinal(n):
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# name -> writer(date); every writer's output is read back by parse_date.
FORMATS = {
    "d Month yyyy": lambda d: f"{d.day} {MONTHS[d.month - 1].capitalize()} {d.year}",
    "d Mon yyyy": lambda d: f"{d.day} {MONTHS[d.month - 1][:3].capitalize()} {d.year}",
    "d month yy": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year % 100:02d}",
    "Mon d, yyyy": lambda d: f"{MONTHS[d.month - 1][:3].capitalize()} {d.day}, {d.year}",
    "Month dth, yyyy": lambda d: f"{MONTHS[d.month - 1].capitalize()} {_ordinal(d.day)}, {d.year}",
    "weekday mm/dd/yyyy": lambda d: f"{DAYS[d.weekday()]} {d.month:02d}/{d.day:02d}/{d.year}",
    "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "the dth of month yyyy": lambda d: f"the {_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "WEEKDAY, MONTH d yyyy": lambda d: f"{DAYS[d.weekday()].upper()}, {MONTHS[d.month - 1].upper()} {d.day} {d.year}",
    "yyyy/mm/dd": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "m/d/yy": lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "Wkd d Mon yyyy": lambda d: f"{DAYS[d.weekday()][:3].capitalize()} {d.day} {MONTHS[d.month - 1][:3].capitalize()} {d.year}",
}

_RANGE = (_dt.date(1900, 1, 1).toordinal(), _dt.date(2099, 12, 31).toordinal() + 1)
_RANGE_YY = (_dt.date(1950, 1, 1).toordinal(), _dt.date(2049, 12, 31).toordinal() + 1)


def format_date(date: _dt.date, fmt: str) -> str:
    return FORMATS[fmt](date)


def generate_dates(n, seed=0, formats=None):
    """n (human, machine) pairs, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    names = list(formats or FORMATS)
    which = rng.integers(0, len(names), size=n)
    days = rng.integers(*_RANGE, size=n)
    days_yy = rng.integers(*_RANGE_YY, size=n)
    out = []
    for o, o_yy, f in zip(days, days_yy, which):
        d = _dt.date.fromordinal(int(o_yy if "yy" in names[f].replace("yyyy", "") else o))
        out.append((format_date(d, names[f]), d.isoformat()))
    return out


def _year(s):
    y = int(s)
    return y if len(s) == 4 else (2000 + y if y < 50 else 1900 + y)


def _month(s):
    s = s.lower()
    return next(i + 1 for i, m in enumerate(MONTHS) if m.startswith(s[:3]))


def parse_date(text: str) -> str:
    """The machine form of a date written in any of FORMATS (the generator's inverse)."""
    t = text.lower().replace(",", " ")
    t = re.sub(r"\b(" + "|".join(d[:3] for d in DAYS) + r")[a-z]*\b", " ", t)
    t = re.sub(r"\b(the|of)\b", " ", t)
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", t)
    nums = re.findall(r"\d+", t)
    words = re.findall(r"[a-z]+", t)
    if words:  # a month name, a day and a year
        m = _month(words[0])
        d, y = (nums[0], nums[1])
    elif "/" in t and len(nums[0]) == 4:   # yyyy/mm/dd
        y, m, d = nums[0], int(nums[1]), nums[2]
    elif "/" in t:                         # m/d/yy or mm/dd/yyyy
        m, d, y = int(nums[0]), nums[1], nums[2]
    else:                                  # dd.mm.yyyy
        d, m, y = nums[0], int(nums[1]), nums[2]
    return _dt.date(_year(y), m, int(d)).isoformat()
