"""Shanxi time-of-use peak hours by date (the editions in /work/shared/reference/tariffs_shanxi.yaml).

The simulator only needs to know which hours are peak, to place movable load in or out of them: 晋发改商品发
〔2021〕479号 until 2026-04-30 (peak 08-11, 17-23 all year), 〔2026〕15号 from 2026-05-01 (seasonal hours).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

EDITION_2026_FROM = dt.date(2026, 5, 1)
PEAK_2021: tuple[tuple[int, int], ...] = ((8, 11), (17, 23))
PEAK_2026: dict[int, tuple[tuple[int, int], ...]] = {
    **dict.fromkeys((3, 4, 5), ((6, 8), (17, 24))),
    **dict.fromkeys((6, 7, 8), ((6, 8), (18, 24))),
    **dict.fromkeys((9, 10, 11), ((6, 8), (17, 24))),
    **dict.fromkeys((12, 1, 2), ((6, 8), (16, 23))),
}


def peak_ranges(day: dt.date) -> tuple[tuple[int, int], ...]:
    """Peak hours [start, end) of a local day under the edition in force."""
    return PEAK_2026[day.month] if day >= EDITION_2026_FROM else PEAK_2021


def peak_mask(days: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Per interval: is its local hour a peak hour? `days` are datetime.date objects, `hours` ints."""
    out = np.zeros(len(hours), dtype=bool)
    for day in set(days.tolist()):
        sel = days == day
        for start, end in peak_ranges(day):
            out |= sel & (hours >= start) & (hours < end)
    return out
