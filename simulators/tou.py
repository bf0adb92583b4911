"""Shanxi time-of-use peak hours by date, from the project's cited reference data (core/reference).

The simulator only needs to know which hours are peak (peak and critical peak), to place movable load in or
out of them; the edition in force on each day (晋发改商品发〔2021〕479号 until 2026-04-30, 〔2026〕15号 with
seasonal hours from 2026-05-01) is the reference data's, so the simulator and the diagnosis agree.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np

from core.reference import get_reference

PEAK_PERIODS = frozenset({"peak", "critical_peak"})


@lru_cache(maxsize=4096)
def peak_ranges(day: dt.date) -> tuple[tuple[int, int], ...]:
    """Peak hours [start, end) of a local day under the edition in force (adjacent peak spans merged)."""
    ranges: list[tuple[int, int]] = []
    for span in get_reference().tou_periods(day, day.month).value:
        if span.period not in PEAK_PERIODS:
            continue
        if ranges and ranges[-1][1] == span.start:
            ranges[-1] = (ranges[-1][0], span.end)
        else:
            ranges.append((span.start, span.end))
    return tuple(ranges)


def peak_mask(days: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Per interval: is its local hour a peak hour? `days` are datetime.date objects, `hours` ints."""
    out = np.zeros(len(hours), dtype=bool)
    for day in set(days.tolist()):
        sel = days == day
        for start, end in peak_ranges(day):
            out |= sel & (hours >= start) & (hours < end)
    return out
