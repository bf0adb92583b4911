"""The safety rules as pure functions over one meter's readings: per reading, a severity level and a hold flag.

`rule_levels` is vectorised (numpy); the batch detector and the streaming engine both call it, so they
agree. Level 0 = normal, 1 = pre-alarm (预警), 2 = alarm (报警), 3 = critical (严重). `hold` is True while
the value is above the release level (pre-alarm level moved by the hysteresis): an open alarm stays open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from analytics.safety.thresholds import Thresholds


class Severity(IntEnum):
    NONE = 0
    PRE_ALARM = 1
    ALARM = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        """The name stored in InfluxDB and printed by `enerdiag alarms` (pre_alarm, alarm, critical)."""
        return {0: "none", 1: "pre_alarm", 2: "alarm", 3: "critical"}[int(self)]

    @classmethod
    def from_label(cls, text: str) -> Severity:
        return {"none": cls.NONE, "pre_alarm": cls.PRE_ALARM, "alarm": cls.ALARM, "critical": cls.CRITICAL}[text]


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a rule watches, its unit, whether low values are the danger, and its Chinese title and advice."""

    code: str
    quantity: str
    unit: str
    title_zh: str
    advice_zh: str
    lower_is_worse: bool = False


RULES: Final[dict[str, RuleInfo]] = {
    r.code: r
    for r in (
        RuleInfo("leakage", "leakage_ma", "mA", "剩余电流（漏电）超限",
                 "检查线路和设备绝缘、潮湿与破损，排查漏电回路；报警期间避免带电作业。"),
        RuleInfo("over_temp", "temp_c", "degC", "线缆/开关柜温度过高",
                 "检查接头松动、过载和散热，必要时降低负荷并安排红外测温。"),
        RuleInfo("temp_rise", "temp_c", "K", "温度快速上升",
                 "立即现场检查发热点（接头、触头、母排），确认无冒烟、焦味。"),
        RuleInfo("overload", "current_a", "A", "回路过载",
                 "核对回路额定电流与保护整定，调整负荷分配或扩容。"),
        RuleInfo("over_voltage", "voltage_v", "V", "电压偏高", "联系供电企业核查电压，检查变压器分接头。"),
        RuleInfo("under_voltage", "voltage_v", "V", "电压偏低/电压暂降",
                 "检查供电质量和线路压降，防止电机低压过流发热。", lower_is_worse=True),
        RuleInfo("phase_imbalance", "current_a", "A", "三相电流不平衡", "调整单相负荷在三相间的分配。"),
        RuleInfo("night_load", "current_a", "A", "停产时段异常负荷",
                 "核查停产时段仍在运行的设备，关闭无人值守的用电设备。"),
    )
}
"""Every rule code (stable: dashboards, reports and the bank API count by them)."""

PHASE_COLUMNS: Final = ("current_l1_a", "current_l2_a", "current_l3_a")
"""Per-phase currents, used by `phase_imbalance` when present (not in the wire contract yet)."""


@dataclass(frozen=True, slots=True)
class RuleLevels:
    """One rule over a series: the value it judged, the level and the hold flag per reading, and thresholds."""

    value: np.ndarray
    level: np.ndarray
    hold: np.ndarray
    thresholds: dict[str, float]


def _upward(x: np.ndarray, pre: float, alarm: float, critical: float | None, hyst: float) -> tuple[np.ndarray, ...]:
    with np.errstate(invalid="ignore"):
        level = (x >= pre).astype(np.int8) + (x >= alarm)
        if critical is not None:
            level = level + (x >= critical)
        hold = x >= pre * (1.0 - hyst)
    return level.astype(np.int8), hold


def _outside(dev: np.ndarray, pre: float, alarm: float, critical: float, low: bool) -> np.ndarray:
    """Levels of a deviation beyond limits (strictly: a deviation exactly at the limit is still compliant)."""
    with np.errstate(invalid="ignore"):
        if low:
            level = (dev < pre).astype(np.int8) + (dev < alarm) + (dev < critical)
        else:
            level = (dev > pre).astype(np.int8) + (dev > alarm) + (dev > critical)
    return level.astype(np.int8)


def window_min(times: np.ndarray, temp: np.ndarray, window_s: float) -> np.ndarray:
    """Trailing minimum of `temp` over (t - window, t] for each reading (times ascending epoch seconds)."""
    if len(times) == 0:
        return np.asarray(temp, dtype=float)
    series = pd.Series(np.asarray(temp, dtype=float), index=pd.to_datetime(np.asarray(times), unit="s"))
    return series.rolling(pd.Timedelta(seconds=window_s), min_periods=1).min().to_numpy()


def closed_mask(times: np.ndarray, t: Thresholds, tz: str) -> np.ndarray:
    """True for readings that fall in the plant's closed hours or closed weekdays (local time)."""
    window = t.closed_window()
    if window is None and not t.closed_weekdays:
        return np.zeros(len(times), dtype=bool)
    local = pd.to_datetime(np.asarray(times), unit="s", utc=True).tz_convert(ZoneInfo(tz))
    minutes = np.asarray(local.hour * 60 + local.minute)
    mask = np.isin(np.asarray(local.day_of_week), list(t.closed_weekdays))
    if window is not None:
        start, end = window
        if start <= end:
            mask |= (minutes >= start) & (minutes < end)
        else:  # wraps midnight
            mask |= (minutes >= start) | (minutes < end)
    return mask


def rule_levels(
    times: np.ndarray, cols: Mapping[str, np.ndarray], t: Thresholds, tz: str = "Asia/Shanghai"
) -> dict[str, RuleLevels]:
    """Levels of every rule that has its inputs in `cols` (arrays aligned with `times`, NaN = not sent).

    `cols` may carry `temp_window_min` (the trailing minimum temperature) precomputed, as the streaming
    engine does; otherwise it is computed from `temp_c`.
    """
    out: dict[str, RuleLevels] = {}
    h = t.hysteresis
    leak = cols.get("leakage_ma")
    if leak is not None:
        lv, hold = _upward(leak, t.leakage_pre_ma, t.leakage_alarm_ma, t.leakage_critical_ma, h)
        out["leakage"] = RuleLevels(leak, lv, hold, {"pre_alarm": t.leakage_pre_ma, "alarm": t.leakage_alarm_ma,
                                                     "critical": t.leakage_critical_ma})
    temp = cols.get("temp_c")
    if temp is not None:
        lv, hold = _upward(temp, t.temp_pre_c, t.temp_alarm_c, t.temp_critical_c, h)
        out["over_temp"] = RuleLevels(temp, lv, hold, {"pre_alarm": t.temp_pre_c, "alarm": t.temp_alarm_c,
                                                       "critical": t.temp_critical_c})
        low = cols.get("temp_window_min")
        if low is None:
            low = window_min(times, temp, t.temp_rise_window_s)
        rise = temp - low
        lv, hold = _upward(rise, t.temp_rise_pre_c, t.temp_rise_alarm_c, None, h)
        out["temp_rise"] = RuleLevels(rise, lv, hold, {"pre_alarm": t.temp_rise_pre_c, "alarm": t.temp_rise_alarm_c,
                                                       "window_s": t.temp_rise_window_s})
    current = cols.get("current_a")
    rated = t.rated_current_a
    if current is not None and rated:
        lv, hold = _upward(current / rated, t.overload_pre_ratio, t.overload_alarm_ratio,
                           t.overload_critical_ratio, h)
        out["overload"] = RuleLevels(current, lv, hold, {
            "rated_current_a": rated, "pre_alarm": t.overload_pre_ratio * rated,
            "alarm": t.overload_alarm_ratio * rated, "critical": t.overload_critical_ratio * rated})
    volt = cols.get("voltage_v")
    if volt is not None:
        dev = np.round((volt / t.nominal_voltage_v - 1.0) * 100.0, 6)  # % of nominal; rounding keeps 7.0 at 7.0
        nominal = t.nominal_voltage_v
        band = t.voltage_hysteresis_pct
        lv = _outside(dev, t.voltage_high_pre_pct, t.voltage_high_alarm_pct, t.voltage_high_critical_pct, False)
        with np.errstate(invalid="ignore"):
            hold = dev >= t.voltage_high_pre_pct - band
        out["over_voltage"] = RuleLevels(volt, lv, hold, {
            "nominal_v": nominal, "pre_alarm": nominal * (1 + t.voltage_high_pre_pct / 100),
            "alarm": nominal * (1 + t.voltage_high_alarm_pct / 100),
            "critical": nominal * (1 + t.voltage_high_critical_pct / 100)})
        low_pre, low_alarm = t.low_pcts()
        lv = _outside(dev, low_pre, low_alarm, t.voltage_low_critical_pct, True)
        with np.errstate(invalid="ignore"):
            hold = dev <= low_pre + band
        out["under_voltage"] = RuleLevels(volt, lv, hold, {
            "nominal_v": nominal, "pre_alarm": nominal * (1 + low_pre / 100),
            "alarm": nominal * (1 + low_alarm / 100), "critical": nominal * (1 + t.voltage_low_critical_pct / 100)})
    phases = [cols[c] for c in PHASE_COLUMNS if c in cols]
    if len(phases) == 3:
        stack = np.vstack(phases)
        with np.errstate(invalid="ignore", divide="ignore"):
            hi, lo = np.nanmax(stack, axis=0), np.nanmin(stack, axis=0)
            ratio = np.where(hi >= t.imbalance_min_current_a, (hi - lo) / hi, 0.0)
        lv, hold = _upward(ratio, t.imbalance_pre_ratio, t.imbalance_alarm_ratio, None, h)
        out["phase_imbalance"] = RuleLevels(ratio, lv, hold, {"pre_alarm": t.imbalance_pre_ratio,
                                                              "alarm": t.imbalance_alarm_ratio})
    closed = closed_mask(times, t, tz) if (t.closed_hours or t.closed_weekdays) else None
    if closed is not None:
        if current is not None and rated:
            value, limit = current, t.night_load_ratio * rated
        elif t.night_load_kw is not None and cols.get("power_kw") is not None:
            value, limit = cols["power_kw"], t.night_load_kw
        else:
            value = None
        if value is not None:
            with np.errstate(invalid="ignore"):
                lv = ((value >= limit) & closed).astype(np.int8)
                hold = (value >= limit * (1 - h)) & closed
            out["night_load"] = RuleLevels(value, lv, hold, {"pre_alarm": limit})
    return out


def frame_columns(frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(epoch seconds, float columns) of a readings frame indexed by time (DatetimeIndex or epoch seconds)."""
    index = frame.index
    if isinstance(index, pd.DatetimeIndex):
        idx = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
        times = np.asarray(idx.as_unit("s").asi8)
    else:
        times = np.asarray(index, dtype=np.int64)
    cols = {str(c): frame[c].to_numpy(dtype=float) for c in frame.columns}
    return times, cols


def utc(ts: float) -> dt.datetime:
    """Epoch seconds as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(int(ts), dt.UTC)
