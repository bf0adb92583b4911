"""A small seeded outdoor-temperature model for Datong (大同, 40.1°N, 1,050 m; cold semi-arid climate).

Monthly means follow the 1991-2020 climate normals (January about -10 °C, July about 22.5 °C); a daily
cycle of about ±6 °C peaking at 15:00, plus a smooth day-to-day weather anomaly (AR(1), sd ≈ 3 °C).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

DATONG_MONTHLY_MEAN_C: tuple[float, ...] = (-10.3, -5.8, 1.6, 9.9, 16.6, 21.0, 22.6, 20.6, 15.1, 8.1, -0.6, -8.0)
"""Approximate monthly mean temperature of Datong (°C), January first."""
DAILY_AMPLITUDE_C = 6.0
ANOMALY_SD_C = 3.0
ANOMALY_PERSISTENCE = 0.7


def seasonal_mean(local: pd.DatetimeIndex) -> np.ndarray:
    """Smooth climatological mean for each timestamp (interpolated between mid-month normals)."""
    doy = local.day_of_year.to_numpy() + local.hour.to_numpy() / 24.0
    mids = np.array([15.5 + 30.4 * m for m in range(12)])
    xs = np.concatenate([mids - 365.0, mids, mids + 365.0])
    ys = np.tile(np.array(DATONG_MONTHLY_MEAN_C), 3)
    return np.interp(doy, xs, ys)


def daily_anomaly(seed: int, days: list[dt.date]) -> np.ndarray:
    """Day-to-day anomaly; each day's value depends only on (seed, date) and the 10 days before it."""
    out = np.empty(len(days))
    for i, day in enumerate(days):
        ordinal = day.toordinal()
        shocks = np.random.default_rng([seed, 7, ordinal - 10]).normal(0, 1, 1)
        value = float(shocks[0]) * ANOMALY_SD_C
        for back in range(9, -1, -1):
            shock = np.random.default_rng([seed, 7, ordinal - back]).normal()
            value = ANOMALY_PERSISTENCE * value + np.sqrt(1 - ANOMALY_PERSISTENCE**2) * ANOMALY_SD_C * shock
        out[i] = value
    return out


def temperature(local: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """Outdoor temperature (°C) at each local timestamp; same seed and time give the same value."""
    hours = local.hour.to_numpy() + local.minute.to_numpy() / 60.0
    cycle = DAILY_AMPLITUDE_C * np.cos((hours - 15.0) / 24.0 * 2 * np.pi)
    days = list(local.normalize().unique().date)
    anomaly = dict(zip(days, daily_anomaly(seed, days), strict=True))
    day_of = local.normalize().date
    return seasonal_mean(local) + cycle + np.fromiter((anomaly[d] for d in day_of), float, len(local))
