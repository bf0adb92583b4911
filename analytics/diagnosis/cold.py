"""Cold stores that stop refrigerating or leave their temperature band (warehouse meters of the registry)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from analytics.diagnosis.finding import Finding, Valuation
from analytics.diagnosis.frames import PlantFrames

REFRIGERATION_STOP_SHARE = 0.25
"""An hour whose refrigeration kWh is below 25 % of the meter's median hour means the plant stopped."""
COLD_MIN_HOURS = 2
"""An event must last at least 2 hours (defrost cycles last minutes; enerdiag rule)."""
EVENT_JOIN_HOURS = 2
"""Stop and out-of-band hours less than 2 h apart are one event."""


def _events(hours: np.ndarray) -> list[tuple[int, int]]:
    """Runs of flagged hour starts (epoch s) as [start, end) with short gaps joined."""
    out: list[list[int]] = []
    for h in np.sort(hours):
        if out and h - out[-1][1] <= EVENT_JOIN_HOURS * 3600:
            out[-1][1] = int(h) + 3600
        else:
            out.append([int(h), int(h) + 3600])
    return [(a, b) for a, b in out]


def detect_cold_store_failure(frames: PlantFrames, value: Valuation) -> list[Finding]:
    """Refrigeration stops (warehouse electricity meters) and hours above the band (temperature meters)."""
    flagged: set[int] = set()
    stopped: set[int] = set()
    meters: list[str] = []
    max_temp: float | None = None
    for m in frames.enterprise.meters:
        if m.role == "warehouse" and m.carrier == "electricity":
            s = frames.series([m.meter_id], "energy_kwh").dropna()
            if len(s) < 48:
                continue
            stop = s[s < REFRIGERATION_STOP_SHARE * float(s.median())]
            if len(stop):
                flagged.update(int(h) for h in stop.index)
                stopped.update(int(h) for h in stop.index)
                meters.append(m.meter_id)
    temps = frames.temperatures
    for meter, (_, hi) in frames.facts.temp_bands.items():
        if temps is None:
            continue
        t = temps[temps["meter"] == meter]
        if t.empty:
            continue
        hourly = t.assign(h=(t["time_s"] // 3600) * 3600).groupby("h")["value"].max()
        warm = hourly[hourly > hi]
        if len(warm):
            flagged.update(int(h) for h in warm.index)
            meters.append(meter)
            max_temp = float(warm.max()) if max_temp is None else max(max_temp, float(warm.max()))
    out = []
    for start, end in _events(np.array(sorted(flagged), dtype=np.int64)):
        hours = (end - start) // 3600
        if hours < COLD_MIN_HOURS:
            continue
        peak = None
        if temps is not None and frames.facts.temp_bands:
            sel = temps[(temps["time_s"] >= start) & (temps["time_s"] <= end + 6 * 3600)]
            peak = float(sel["value"].max()) if len(sel) else None
        iso = [dt.datetime.fromtimestamp(x, dt.UTC).isoformat() for x in (start, end)]
        band = next(iter(frames.facts.temp_bands.values()), None)
        stop_hours = sum(1 for h in stopped if start <= h < end)
        evidence = {"start": iso[0], "end": iso[1], "hours": int(hours), "refrigeration_stop_hours": stop_hours,
                    "meters": sorted(set(meters)),
                    "max_temp_c": None if peak is None else round(peak, 2),
                    "band_c": list(band) if band else None}
        warmest = f"、最高 {peak:.1f} °C" if peak is not None else ""
        out.append(Finding(
            "cold_store_failure", "冷库停止制冷/温度越限", "Cold store stopped refrigerating or left its band",
            **value.electricity(0.0), evidence=evidence,
            recommendation_zh=(f"{iso[0][:16]} 起约 {hours} 小时制冷中断{warmest}："
                               "检查压缩机、电源与化霜控制，加装温度越限报警（短信/电话），核查货物品质。"),
            recommendation_en=(f"Refrigeration stopped for about {hours} h from {iso[0][:16]} UTC: check compressors, "
                               "supply and defrost control; add out-of-band temperature alarms; check the goods."),
            severity="high", sources=()))
    return out


def max_band_excursion(temps: pd.DataFrame, band: tuple[float, float]) -> float:
    """Degrees above the band's top at the warmest reading (0 when inside)."""
    return max(0.0, float(temps["value"].max()) - band[1]) if len(temps) else 0.0
