"""The diagnosis report's electrical-safety section (安全用电) and the city's open-critical lines (pure).

Alarms come from `analytics.safety.summary.load_alarms` (InfluxDB `safety_alarm`); this module only orders,
counts and words them, and attaches the advice per rule. "Open" means open at the end of the report period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final
from zoneinfo import ZoneInfo

from analytics.safety.alarms import Alarm
from analytics.safety.rules import RULES, Severity
from analytics.safety.summary import summarise


@dataclass(frozen=True, slots=True)
class SafetyAdvice:
    """What to do about one rule's alarms, in Chinese and English, and where the limit behind it comes from."""

    title_en: str
    advice_zh: str
    advice_en: str
    source: str  # "" when the rule's limits are an engineering choice (docs/safety.md)


LEAKAGE_ADVICE: Final = SafetyAdvice(
    "Residual (leakage) current",
    "检查线路和用电设备绝缘（兆欧表测绝缘电阻），排查受潮、破损回路；测试剩余电流保护器（RCD）动作是否正常；报警期间避免带电作业。",
    "Check the insulation of cables and equipment (insulation-resistance test) and look for damp or damaged "
    "circuits; test the residual-current device (RCD); no live work while the alarm lasts.",
    "GB 50116-2013 §9.2.3 (residual-current alarm set at 300–500 mA); GB 14287.2 (detector setting 20–1000 mA)",
)
OVER_TEMP_ADVICE: Final = SafetyAdvice(
    "Cable / switchgear over-temperature",
    "停电后紧固接线端子与母排连接；核对电缆截面是否满足实际负荷电流；改善柜内散热，安排红外测温。",
    "Tighten terminals and busbar joints (de-energised); check the cable size against the load current; improve "
    "cooling in the cabinet and schedule an infrared survey.",
    "GB/T 12706.1 / IEC 60502-1: 70 °C (PVC) and 90 °C (XLPE) maximum continuous conductor temperature",
)
TEMP_RISE_ADVICE: Final = SafetyAdvice(
    "Fast temperature rise",
    "立即现场检查发热点（接头、触头、母排），确认无冒烟、焦味；停电后紧固端子。",
    "Inspect the hot spot at once (joints, contacts, busbars) for smoke or a burning smell; tighten the terminals "
    "once de-energised.",
    "",
)
OVERLOAD_ADVICE: Final = SafetyAdvice(
    "Circuit overload",
    "将部分负荷转移到其他回路或错开运行时间；负荷确需增加时扩容回路（按负荷电流重新选择断路器和电缆）；核对保护整定值。",
    "Move part of the load to other circuits or other hours; if the load must stay, upgrade the circuit (breaker "
    "and cable sized for the load current); check the protection settings.",
    "GB/T 14048.2 / IEC 60947-2: conventional non-tripping current 1.05 In, tripping current 1.30 In",
)
OVER_VOLTAGE_ADVICE: Final = SafetyAdvice(
    "Over-voltage",
    "联系供电企业核查供电电压；检查配电变压器分接头位置，必要时调档。",
    "Ask the grid company to check the supply voltage; check the distribution transformer's tap position and "
    "change it if needed.",
    "GB/T 12325 and 供电营业规则 art. 54: supply voltage deviation ±7 % (three-phase), +7 %/−10 % (220 V)",
)
UNDER_VOLTAGE_ADVICE: Final = SafetyAdvice(
    "Under-voltage / voltage sag",
    "联系供电企业核查电压偏低和电压暂降；检查变压器分接头及线路压降（电缆过长或截面不足）；电机低压运行会过流发热。",
    "Ask the grid company about the low voltage and sags; check the transformer tap and the voltage drop of long "
    "or undersized cables; motors on low voltage draw more current and overheat.",
    "GB/T 12325 and 供电营业规则 art. 54: supply voltage deviation ±7 % (three-phase), +7 %/−10 % (220 V)",
)
PHASE_IMBALANCE_ADVICE: Final = SafetyAdvice(
    "Phase imbalance",
    "调整单相负荷在三相之间的分配，降低中性线电流。",
    "Rebalance single-phase loads across the three phases to lower the neutral current.",
    "DL/T 499 low-voltage distribution practice (15 %; not verified)",
)
NIGHT_LOAD_ADVICE: Final = SafetyAdvice(
    "Load while the plant is closed",
    "核查停产时段仍在运行的设备，关闭无人值守的用电设备，必要时加装定时或联锁断电。",
    "Find what runs while the plant is closed; switch off unattended equipment and add timers or interlocks.",
    "",
)
ADVICE: Final[dict[str, SafetyAdvice]] = {
    "leakage": LEAKAGE_ADVICE, "over_temp": OVER_TEMP_ADVICE, "temp_rise": TEMP_RISE_ADVICE,
    "overload": OVERLOAD_ADVICE, "over_voltage": OVER_VOLTAGE_ADVICE, "under_voltage": UNDER_VOLTAGE_ADVICE,
    "phase_imbalance": PHASE_IMBALANCE_ADVICE, "night_load": NIGHT_LOAD_ADVICE,
}
"""Advice per rule code (one for every code in `analytics.safety.rules.RULES`)."""

NO_MONITORING_ZH: Final = ("本企业未安装电气安全监测（无 safety 表计）。建议在总配电柜和重点回路加装剩余电流与温度监测"
                           "（电气火灾监控系统，GB 14287 / GB 50116），与能耗计量共用网关上传。")
NO_MONITORING_EN: Final = ("No electrical-safety monitoring (no safety meter). We recommend residual-current and "
                           "temperature monitoring on the main switchboard and key circuits (electrical-fire "
                           "monitoring, GB 14287 / GB 50116), sent through the same gateway as the energy meters.")
SEVERITY_NAMES: Final[dict[Severity, tuple[str, str]]] = {
    Severity.CRITICAL: ("严重", "critical"), Severity.ALARM: ("报警", "alarm"),
    Severity.PRE_ALARM: ("预警", "pre-alarm"),
}
DISPLAY_UNITS: Final[dict[str, str]] = {"degC": "°C"}
MAX_LISTED: Final = 40
"""Closed alarms listed one by one in a report (the rule table counts them all)."""
LOOKBACK_DAYS: Final = 90
"""How far before the period the report reads `safety_alarm`, to see alarms opened earlier and still open."""


def _t(zh: str, en: str, lang: str) -> str:
    return en if lang == "en" else f"{zh} {en}"


def unit_of(rule: str) -> str:
    """Display unit of a rule's peak value (`temp_rise` is a rise, in K)."""
    return DISPLAY_UNITS.get(RULES[rule].unit, RULES[rule].unit)


def open_order(alarms: Sequence[Alarm]) -> list[Alarm]:
    """Open alarms, critical first, then the oldest first (longest unresolved), then meter and rule."""
    return sorted((a for a in alarms if a.is_open), key=lambda a: (-int(a.severity), a.start, a.meter, a.rule))


def in_period(alarms: Sequence[Alarm], start: dt.datetime, end: dt.datetime) -> list[Alarm]:
    """Alarms active at some time in [start, end) (the same test as `summarise`), as they stood at `end`: an
    alarm closed at or after `end` is open then."""
    return [a if a.end is None or a.end < end else replace(a, end=None)
            for a in alarms if a.start < end and (a.end is None or a.end >= start)]


def _advice(rule: str, lang: str) -> dict[str, str]:
    a = ADVICE[rule]
    return {"local": a.advice_en if lang == "en" else a.advice_zh, "second": "" if lang == "en" else a.advice_en,
            "source": a.source}


def _row(a: Alarm, tz: ZoneInfo, lang: str) -> dict[str, Any]:
    zh, en = SEVERITY_NAMES.get(a.severity, (a.severity.label, a.severity.label))
    return {"id": a.id, "meter": a.meter, "rule": a.rule, "title": _t(RULES[a.rule].title_zh, ADVICE[a.rule].title_en,
                                                                      lang),
            "severity": a.severity.label, "severity_name": _t(zh, en, lang),
            "start": a.start.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "end": None if a.end is None else a.end.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            "peak": round(a.peak, 1), "threshold": round(a.threshold, 1), "unit": unit_of(a.rule)}


def safety_section(alarms: Sequence[Alarm], start: dt.datetime, end: dt.datetime, safety_meters: Sequence[str],
                   timezone: str = "Asia/Shanghai", lang: str = "zh") -> dict[str, Any]:
    """The report's safety section: counts by rule and severity with advice, open alarms (critical first),
    the period's closed alarms, and whether the plant is monitored at all.

    `alarms` should be read up to `end` only, so an alarm closed after the period shows as open at its end.
    """
    tz = ZoneInfo(timezone)
    seen = in_period(alarms, start, end)
    summary = summarise(seen, start, end)
    order = {code: i for i, code in enumerate(RULES)}
    rules = []
    for rule, entry in summary["by_rule"].items():
        sev = entry["by_severity"]
        rules.append({"rule": rule, "title": _t(RULES[rule].title_zh, ADVICE[rule].title_en, lang),
                      "count": entry["count"], "critical": sev.get("critical", 0), "alarm": sev.get("alarm", 0),
                      "pre_alarm": sev.get("pre_alarm", 0), "hours": entry["hours"],
                      "worst_peak": round(entry["worst_peak"], 1), "unit": unit_of(rule),
                      "advice": _advice(rule, lang)})
    rules.sort(key=lambda r: (-r["critical"], -r["alarm"], -r["count"], order[r["rule"]]))
    closed = sorted((a for a in seen if not a.is_open), key=lambda a: (a.start, a.meter, a.rule))
    return {
        "monitored": bool(safety_meters),
        "meters": sorted(safety_meters),
        "no_monitoring": _t(NO_MONITORING_ZH, NO_MONITORING_EN, lang),
        "alarms": summary["alarms"],
        "open": summary["open"],
        "open_critical": summary["open_critical"],
        "by_severity": {s.label: summary["by_severity"].get(s.label, 0) for s in SEVERITY_NAMES},
        "rules": rules,
        "open_alarms": [{**_row(a, tz, lang), "advice": _advice(a.rule, lang)["local"]} for a in open_order(seen)],
        "closed_alarms": [_row(a, tz, lang) for a in closed[:MAX_LISTED]],
        "closed_more": max(0, len(closed) - MAX_LISTED),
        "timezone": timezone,
    }


def open_critical_line(alarms: Sequence[Alarm], end: dt.datetime) -> dict[str, Any] | None:
    """One enterprise's open critical alarms at `end` for the city summary (None when there are none)."""
    crit = [a for a in open_order(in_period(alarms, dt.datetime.min.replace(tzinfo=dt.UTC), end))
            if a.severity is Severity.CRITICAL]
    if not crit:
        return None
    return {"count": len(crit), "rules": sorted({a.rule for a in crit}, key=list(RULES).index),
            "meters": sorted({a.meter for a in crit}), "since": min(a.start for a in crit)}
