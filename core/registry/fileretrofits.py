"""Registry file → an enterprise's retrofit projects (`retrofits:`), checked and stored as plain JSON.

    retrofits:
      - id: vfd-fans
        measure: 窑尾风机变频改造 (VFDs on the kiln fans)
        meters: [M01]                    # the measurement boundary (IPMVP Option C: every main energy meter)
        baseline_from: 2025-01-01
        baseline_to: 2025-12-31
        installed_from: 2026-01-01       # installation days belong to neither period
        installed_to: 2026-01-15
        expected_savings_kwh_per_year: 420000   # or expected_savings_tce_per_year (optional)
        investment_cny: 1200000          # optional
        bank: icbc-datong                # optional: the bank that finances it (a bank of the file or registry)
        non_routine:                     # optional: dated changes of static factors (IPMVP non-routine events)
          - {from: 2026-05-01, to: 2026-06-30, description: 新增一条包装线, adjustment_kwh_per_day: 800}

The boundary's unit is kWh when every boundary meter is electricity, tce otherwise; a non-routine adjustment is
given in that unit (`adjustment_kwh_per_day` / `adjustment_tce_per_day`: energy the change adds per day, added to
the adjusted baseline), and an event without one excludes its days. Stored form: `stored_retrofit` (dates ISO).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from core.domain import Carrier, MeterRole
from core.registry.filecheck import MISSING, Checker, date_value, ident, number, text
from core.registry.filespec import MeterSpec
from core.registry.yamlnodes import Located

RETROFIT_KEYS = {"id", "measure", "meters", "baseline_from", "baseline_to", "installed_from", "installed_to",
                 "expected_savings_kwh_per_year", "expected_savings_tce_per_year", "investment_cny", "bank",
                 "non_routine"}
NON_ROUTINE_KEYS = {"from", "to", "description", "adjustment_kwh_per_day", "adjustment_tce_per_day"}
MAX_RETROFITS = 50
MAX_NON_ROUTINE = 100
BOUNDARY_CARRIERS = (Carrier.ELECTRICITY, Carrier.NATURAL_GAS, Carrier.STEAM, Carrier.HEAT, Carrier.COAL,
                     Carrier.DIESEL)
"""Carriers a measurement boundary can hold: the energy carriers of GB/T 2589 (not water, output, temperature)."""
BOUNDARY_ROLES = (MeterRole.MAIN, MeterRole.SUB, MeterRole.PROCESS, MeterRole.WAREHOUSE)
OPTION_C, OPTION_B = "C", "B"


def boundary_unit(carriers: set[str]) -> str:
    """kWh for an electricity-only boundary, tce when it holds any fuel (GB/T 2589 conversion)."""
    return "kWh" if carriers == {Carrier.ELECTRICITY.value} else "tce"


def boundary_option(meters: list[str], all_meters: list[MeterSpec]) -> str:
    """IPMVP Option C when the boundary holds every main meter of every energy carrier the enterprise meters
    (whole facility), else Option B (retrofit isolation: sub-meters of the measure)."""
    mains = {m.meter_id for m in all_meters if m.role == MeterRole.MAIN and m.carrier in BOUNDARY_CARRIERS}
    return OPTION_C if mains and mains <= set(meters) else OPTION_B


def read_retrofits(check: Checker, ent_node: Located, ent_where: str, meters: list[MeterSpec],
                   bank_refs: list[tuple[str, str]] | None = None) -> list[dict[str, Any]] | None:
    """The enterprise's `retrofits:` in stored form (None when not given); every problem as FILE:LINE.

    `bank_refs` collects (bank id, 'FILE:LINE: path') of each financing bank, checked against the file's and the
    registry's banks when the file is loaded."""
    items = check.items(ent_node.value.get("retrofits"), f"{ent_where}.retrofits")
    if len(items) > MAX_RETROFITS:
        check.error(ent_node.value["retrofits"].line, f"{ent_where}.retrofits", f"at most {MAX_RETROFITS} projects")
        return None
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    by_id = {m.meter_id: m for m in meters}
    for i, node in enumerate(items):
        where = f"{ent_where}.retrofits[{i}]"
        if not check.mapping(node, where, RETROFIT_KEYS,
                             ("id", "measure", "meters", "baseline_from", "baseline_to", "installed_from",
                              "installed_to")):
            continue
        rid = check.get(node, "id", where, ident)
        if isinstance(rid, str) and check.repeated(seen, rid, node.line, f"{where}.id", f"retrofit {rid!r}"):
            continue
        project = _read_one(check, node, where, by_id, meters)
        if project is not None and isinstance(rid, str):
            out.append({"id": rid, **project})
            if project["bank"] is not None and bank_refs is not None:
                bank_refs.append((project["bank"], f"{check.path}:{node.value['bank'].line}: {where}.bank"))
    return out or None


def _meter_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of meter ids")
    ids = [ident(v) for v in value]
    if len(set(ids)) != len(ids):
        raise ValueError("a meter is listed twice")
    return ids


def _read_one(check: Checker, node: Located, where: str, by_id: dict[str, MeterSpec],
              meters: list[MeterSpec]) -> dict[str, Any] | None:
    errors = len(check.errors)
    ids = check.get(node, "meters", where, _meter_ids)
    carriers: set[str] = set()
    if isinstance(ids, list):
        for mid in ids:
            meter = by_id.get(mid)
            if meter is None:
                check.error(node.value["meters"].line, f"{where}.meters", f"meter {mid!r} is not a meter of the "
                            "enterprise")
            elif meter.carrier not in BOUNDARY_CARRIERS or meter.role not in BOUNDARY_ROLES:
                check.error(node.value["meters"].line, f"{where}.meters", f"meter {mid!r} ({meter.carrier}, "
                            f"{meter.role}) is not an energy meter: a boundary holds electricity or fuel meters")
            else:
                carriers.add(str(meter.carrier))
    dates = {k: check.get(node, k, where, date_value)
             for k in ("baseline_from", "baseline_to", "installed_from", "installed_to")}
    order = list(dates.items())
    for (k0, d0), (k1, d1) in itertools.pairwise(order):
        same_day_ok = k1 == "installed_to"
        if isinstance(d0, dt.date) and isinstance(d1, dt.date) and (d1 < d0 or (d1 == d0 and not same_day_ok)):
            check.error(node.value[k1].line, f"{where}.{k1}", f"{d1} is {'before' if d1 < d0 else 'the same day as'} "
                        f"{k0} {d0}")
    unit = boundary_unit(carriers) if carriers else None
    expected_kwh = check.get(node, "expected_savings_kwh_per_year", where, number(True))
    expected_tce = check.get(node, "expected_savings_tce_per_year", where, number(True))
    if expected_kwh is not None and expected_tce is not None:
        check.error(node.line, f"{where}.expected_savings_kwh_per_year",
                    "give expected_savings_kwh_per_year or expected_savings_tce_per_year, not both")
    if isinstance(expected_kwh, float) and unit == "tce":
        check.error(node.value["expected_savings_kwh_per_year"].line, f"{where}.expected_savings_kwh_per_year",
                    "the boundary holds fuel meters: its savings are in tce (expected_savings_tce_per_year)")
    events = _read_non_routine(check, node, where, unit, dates["baseline_from"])
    project = {
        "measure": check.get(node, "measure", where, text),
        "meters": ids if isinstance(ids, list) else [],
        "option": boundary_option(ids, meters) if isinstance(ids, list) else None,
        "unit": unit,
        **{k: v.isoformat() if isinstance(v, dt.date) else None for k, v in dates.items()},
        "expected_savings_kwh_per_year": expected_kwh if isinstance(expected_kwh, float) else None,
        "expected_savings_tce_per_year": expected_tce if isinstance(expected_tce, float) else None,
        "investment_cny": _value(check.get(node, "investment_cny", where, number(True))),
        "bank": _value(check.get(node, "bank", where, ident)),
        "non_routine": events,
    }
    return project if len(check.errors) == errors else None


def _value(v: Any) -> Any:
    return None if v is MISSING else v


def _read_non_routine(check: Checker, node: Located, where: str, unit: str | None,
                      baseline_from: Any) -> list[dict[str, Any]]:
    items = check.items(node.value.get("non_routine"), f"{where}.non_routine")
    if len(items) > MAX_NON_ROUTINE:
        check.error(node.value["non_routine"].line, f"{where}.non_routine", f"at most {MAX_NON_ROUTINE} events")
        return []
    out = []
    for i, ev in enumerate(items):
        w = f"{where}.non_routine[{i}]"
        if not check.mapping(ev, w, NON_ROUTINE_KEYS, ("from", "description")):
            continue
        start, end = check.get(ev, "from", w, date_value), check.get(ev, "to", w, date_value)
        if isinstance(start, dt.date) and isinstance(end, dt.date) and end < start:
            check.error(ev.value["to"].line, f"{w}.to", f"{end} is before from {start}")
        if isinstance(start, dt.date) and isinstance(baseline_from, dt.date) and start < baseline_from:
            check.error(ev.value["from"].line, f"{w}.from", f"{start} is before the baseline ({baseline_from})")
        adjustment: float | None = None
        for key, key_unit in (("adjustment_kwh_per_day", "kWh"), ("adjustment_tce_per_day", "tce")):
            got = check.get(ev, key, w, number())
            if isinstance(got, float):
                if unit is not None and key_unit != unit:
                    check.error(ev.value[key].line, f"{w}.{key}", f"the boundary's energy is in {unit}: give "
                                f"adjustment_{unit.lower()}_per_day")
                elif adjustment is not None:
                    check.error(ev.line, w, "give one adjustment, not both")
                adjustment = got
        out.append({"from": start.isoformat() if isinstance(start, dt.date) else None,
                    "to": end.isoformat() if isinstance(end, dt.date) else None,
                    "description": _value(check.get(ev, "description", w, text)),
                    "adjustment_per_day": adjustment})
    return out
