"""The rollup job: raw counters in InfluxDB → hourly/daily per meter, daily/monthly per enterprise (docs/schema.md).

What to recompute comes from the ingest marks (core/marks.py, analytics/marks.py): every writer of raw readings
records which enterprise and hours each write touched, and a run recomputes exactly the marked hours, whatever
their age, then advances its cursor. `--since` (a repair tool) also compares, per enterprise, meter and counter,
the raw readings stored with those the hourly rollups were computed from (`n_readings`): per UTC day from that
date, then per hour over the differing days.

The dirty hours of an enterprise are grouped into contiguous spans (`dirty_ranges`), cut into bounded chunks
(`SPAN_ENTERPRISE_SECONDS`), widened to the hours of the readings just outside them (their intervals change
too) and recomputed whole, enterprises with the same span together; every point is written at a fixed
timestamp of a fixed series, so a second run overwrites with the same values.
InfluxQL is kept to what 1.x, 2.x and 3.x all run: bounded `GROUP BY time()`, no SELECT INTO, no DELETE.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from analytics.calendar import daily_from_hourly, local_midnight_s, month_start, monthly_from_daily, next_month
from analytics.consumption import CounterSpec, counter_intervals, hourly_arrays
from analytics.enterprise import EnterpriseInfo, MeterInfo, enterprises_daily, products_daily
from analytics.marks import ALL, advance, dirty_ranges, read_cursor, read_new_marks
from core.domain import COUNTER_KEYS
from core.influx import InfluxV1, line, quote_ident, quote_literal
from core.measurements import (
    CONSUMPTION_DAILY,
    CONSUMPTION_HOURLY,
    ENTERPRISE_DAILY,
    ENTERPRISE_MONTHLY,
    PRODUCT_DAILY,
    READING,
)

HOUR_S: Final = 3600
DAY_S: Final = 86400

MERGE_GAP_H: Final = 6
"""Dirty hours of one enterprise closer than this are recomputed as one span (a few hours of unchanged
readings cost less to re-read than the queries of a span of their own)."""

SPAN_ENTERPRISE_SECONDS: Final = 64 * DAY_S
"""Most enterprise-seconds one recompute holds: one enterprise 64 days at a time, 200 enterprises 7 hours
(never less than an hour), so a year's backfill is rolled up in bounded chunks."""

EDGE_SEARCH_S: Final = 400 * DAY_S
"""How far before/after a dirty span to look for the neighbouring reading whose interval the span changes.
A meter silent for longer than this starts a fresh series (its first reading has no predecessor)."""

HORIZON_S: Final = 2 * DAY_S
"""How far past now the search for the reading after a span looks (the collector refuses readings more than
5 minutes ahead; direct writers get two days): a span ending now costs no 400-day search forward."""

WRITE_BATCH: Final = 5000
"""Lines per write request (InfluxDB's recommended batch size)."""

BATCH_ENTERPRISES: Final = 200
"""Enterprises recomputed together: one query covers them all (an OR of 200 equalities stays a short URL)."""

FETCH_ENTERPRISE_SECONDS: Final = 20 * DAY_S
"""Budget of one raw fetch, in enterprise-seconds: 200 enterprises are fetched 2.4 hours at a time, one
enterprise 20 days at a time (never less than an hour), so an answer stays near 150,000 rows of 5 meters'
minute data whatever the batch."""

HOURLY_FIELDS: Final = ("value", "estimated", "completeness", "anomalies", "excluded", "n_readings")
DAILY_TOTAL_FIELDS: Final = ("value", "estimated", "completeness", "meters")
INT_FIELDS: Final = frozenset({"anomalies", "excluded", "n_readings", "meters"})


@dataclass
class RollupReport:
    """What a run did, for the command's summary line and the tests."""

    enterprises: int = 0
    dirty: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> recomputed [start, end) epoch s
    hours: int = 0
    days: int = 0
    enterprise_days: int = 0
    months: int = 0
    unknown_enterprises: list[str] = field(default_factory=list)
    seconds: float = 0.0
    marks: int = 0  # ingest marks read
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # code -> dirty [start, end) spans
    chunks: int = 0  # recomputes (span chunks × enterprise batches)
    through: dict[str, int] = field(default_factory=dict)  # the marks cursor to store once the run's work is done
    scope: str = ALL  # whose cursor: the whole registry's, or the one enterprise's of an `only` run


def _t(epoch_s: int) -> str:
    return f"{int(epoch_s)}s"


def counter_fields(influx: InfluxV1) -> list[str]:
    """The counter quantities the raw layer holds (`SHOW FIELD KEYS`), sorted. A raw retention policy goes in
    the `rp` parameter: InfluxDB 2.x answers meta queries from the bucket the (db, rp) mapping names."""
    keys: set[str] = set()
    q = f"SHOW FIELD KEYS FROM {quote_ident(READING)}"
    for series in (influx.query(q) if influx.raw_rp is None else influx.query(q, rp=influx.raw_rp)):
        keys.update(row["fieldKey"] for row in series.records())
    return sorted(keys & COUNTER_KEYS)


Counts = dict[tuple[str, str, str, int], int]
"""(enterprise, meter, quantity, bucket start) → number of raw readings."""


def raw_counts(influx: InfluxV1, fields: list[str], start_s: int, end_s: int, bucket: str,
               codes: list[str] | None = None) -> Counts:
    """Raw readings stored per enterprise, meter, counter and `bucket` (1d or 1h) in [start, end)."""
    if not fields:
        return {}
    selects = ", ".join(f"count({quote_ident(f)}) AS {quote_ident(f)}" for f in fields)
    where = f"{_in(codes)} AND " if codes else ""
    q = (f"SELECT {selects} FROM {influx.raw_source} WHERE {where}time >= {_t(start_s)} AND time < {_t(end_s)} "
         f"GROUP BY time({bucket}), \"enterprise\", \"meter\" fill(none)")
    out: Counts = {}
    for series in influx.query(q):
        for row in series.records():
            for f in fields:
                n = row.get(f) or 0
                if n:
                    out[(row["enterprise"], row["meter"], f, int(row["time"]))] = int(n)
    return out


def stored_counts(influx: InfluxV1, start_s: int, end_s: int, bucket: str, codes: list[str] | None = None) -> Counts:
    """Raw readings the stored hourly rollups were computed from, per enterprise, meter, counter and bucket."""
    where = f"{_in(codes)} AND " if codes else ""
    q = (f"SELECT sum(\"n_readings\") AS n FROM {quote_ident(CONSUMPTION_HOURLY)} WHERE {where}time >= {_t(start_s)} "
         f"AND time < {_t(end_s)} GROUP BY time({bucket}), \"enterprise\", \"meter\", \"quantity\" fill(none)")
    out: Counts = {}
    for series in influx.query(q):
        for row in series.records():
            if row.get("n"):
                out[(row["enterprise"], row["meter"], row["quantity"], int(row["time"]))] = int(row["n"])
    return out


def differing(raw: Counts, stored: Counts, keep_expired: bool = False) -> dict[str, set[int]]:
    """Per enterprise, the bucket starts whose raw and stored counts differ (new, late or backfilled data).

    `keep_expired` (raw readings in their own retention policy): a rolled-up bucket without any raw reading
    left expired from the raw layer; it is not dirty, so the rollup outlives its readings.
    """
    out: dict[str, set[int]] = defaultdict(set)
    for key in set(raw) | set(stored):
        if raw.get(key, 0) != stored.get(key, 0) and not (keep_expired and not raw.get(key)):
            out[key[0]].add(key[3])
    return dict(out)


def dirty_spans(influx: InfluxV1, fields: list[str], start_s: int, end_s: int,
                codes: list[str] | None = None) -> dict[str, tuple[int, int]]:
    """Per enterprise, the [first, last + 1 h) span of hours whose readings changed since they were rolled up.

    Days are compared first over the whole window (cheap), then the hours of the differing days only. With
    a raw retention policy (`influx.raw_rp`), buckets whose raw readings expired keep their rollups.
    """
    keep = influx.raw_rp is not None
    days = differing(raw_counts(influx, fields, start_s, end_s, "1d", codes),
                     stored_counts(influx, start_s, end_s, "1d", codes), keep)
    by_day: dict[int, list[str]] = defaultdict(list)
    for code, starts in days.items():
        for day in starts:
            by_day[day].append(code)
    spans: dict[str, tuple[int, int]] = {}
    for day, day_codes in sorted(by_day.items()):
        for i in range(0, len(day_codes), BATCH_ENTERPRISES):
            batch = sorted(day_codes[i:i + BATCH_ENTERPRISES])
            hours = differing(raw_counts(influx, fields, day, day + DAY_S, "1h", batch),
                              stored_counts(influx, day, day + DAY_S, "1h", batch), keep)
            for code, starts in hours.items():
                lo, hi = spans.get(code, (min(starts), max(starts) + HOUR_S))
                spans[code] = (min(lo, min(starts)), max(hi, max(starts) + HOUR_S))
    return spans


def _in(codes: list[str]) -> str:
    """`("enterprise" = 'A' OR "enterprise" = 'B' …)` (OR of equalities: every InfluxQL version runs it)."""
    return "(" + " OR ".join(f"\"enterprise\" = {quote_literal(c)}" for c in codes) + ")"


Key = tuple[str, str, str]  # (enterprise, meter, quantity)


def _edges(influx: InfluxV1, codes: list[str], fields: list[str], at_s: int,
           before: bool, horizon_s: int | None = None) -> dict[Key, tuple[int, float]]:
    """Per (enterprise, meter, quantity): the last reading before `at_s`, or the first at/after it (and before
    `horizon_s`, past which no reading can be: the collector refuses readings more than 5 minutes ahead)."""
    if not fields:
        return {}
    end = at_s + EDGE_SEARCH_S if horizon_s is None else min(at_s + EDGE_SEARCH_S, horizon_s)
    if not before and end <= at_s:
        return {}
    fn = "last" if before else "first"
    window = (f"time < {_t(at_s)} AND time >= {_t(at_s - EDGE_SEARCH_S)}" if before
              else f"time >= {_t(at_s)} AND time < {_t(end)}")
    statements = [
        f"SELECT {fn}({quote_ident(f)}) AS {quote_ident(f)} FROM {influx.raw_source} "
        f"WHERE {_in(codes)} AND {window} GROUP BY \"enterprise\", \"meter\""
        for f in fields
    ]
    out: dict[Key, tuple[int, float]] = {}
    for series in influx.query("; ".join(statements)):
        f = series.columns[1]
        for row in series.records():
            if row.get(f) is not None:
                out[(row["enterprise"], row["meter"], f)] = (int(row["time"]), float(row[f]))
    return out


def fetch_raw(influx: InfluxV1, codes: list[str], fields: list[str], start_s: int,
              end_s: int) -> dict[Key, tuple[list[int], list[float]]]:
    """Per (enterprise, meter, quantity): raw counter readings in [start, end), time-ordered, in chunks."""
    out: dict[Key, tuple[list[int], list[float]]] = {}
    if not fields:  # no counter readings left at all (deleted, or expired with the default policy)
        return out
    selects = ", ".join(quote_ident(f) for f in fields)
    step = max(HOUR_S, (FETCH_ENTERPRISE_SECONDS // max(len(codes), 1)) // HOUR_S * HOUR_S)
    chunk = start_s
    while chunk < end_s:
        stop = min(chunk + step, end_s)
        q = (f"SELECT {selects} FROM {influx.raw_source} WHERE {_in(codes)} "
             f"AND time >= {_t(chunk)} AND time < {_t(stop)} GROUP BY \"enterprise\", \"meter\"")
        for series in influx.query(q):
            code, meter = series.tags.get("enterprise", ""), series.tags.get("meter", "")
            for f in fields:
                col = series.columns.index(f)
                times, values = out.setdefault((code, meter, f), ([], []))
                for row in series.values:
                    if row[col] is not None:
                        times.append(int(row[0]))
                        values.append(float(row[col]))
        chunk = stop
    return out


def counter_spec(meter: MeterInfo | None) -> CounterSpec:
    """The counter rules of a registry meter (multiplier 1 and no events for an unregistered one)."""
    if meter is None:
        return CounterSpec()
    return CounterSpec(multiplier=meter.multiplier, register_max=meter.register_max,
                       max_rate_per_h=meter.max_rate_per_h, events=meter.events)


def widened_spans(influx: InfluxV1, codes: list[str], fields: list[str], start_s: int,
                  end_s: int, horizon_s: int | None = None) -> dict[tuple[int, int], list[str]]:
    """Group enterprises by their dirty span widened to the hours of the readings just outside it.

    An enterprise whose meter was silent for weeks widens only its own span, not the whole batch's.
    """
    before = _edges(influx, codes, fields, start_s, before=True)
    after = _edges(influx, codes, fields, end_s, before=False, horizon_s=horizon_s)
    lo = dict.fromkeys(codes, start_s)
    hi = dict.fromkeys(codes, end_s)
    for (code, _, _), (t, _) in before.items():
        lo[code] = min(lo[code], (t // HOUR_S) * HOUR_S)
    for (code, _, _), (t, _) in after.items():
        hi[code] = max(hi[code], (t // HOUR_S + 1) * HOUR_S)
    groups: dict[tuple[int, int], list[str]] = defaultdict(list)
    for code in codes:
        groups[(lo[code], hi[code])].append(code)
    return dict(groups)


def recompute_hours(influx: InfluxV1, enterprises: list[EnterpriseInfo], fields: list[str], lo: int,
                    hi: int, horizon_s: int | None = None) -> pd.DataFrame:
    """Hourly rows (with `enterprise`, `meter`, `quantity`) of every counter of the enterprises in [lo, hi).

    [lo, hi) must be a widened span (`widened_spans`): with the last reading before it and the first after
    it, every hour inside is computed from all the intervals that overlap it.
    """
    codes = [e.code for e in enterprises]
    by_code = {e.code: e for e in enterprises}
    outer_before = _edges(influx, codes, fields, lo, before=True)
    outer_after = _edges(influx, codes, fields, hi, before=False, horizon_s=horizon_s)
    raw = fetch_raw(influx, codes, fields, lo, hi)
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    for key in sorted(set(raw) | set(outer_before) | set(outer_after)):
        code, meter, quantity = key
        times, values = raw.get(key, ([], []))
        if key in outer_before:
            times, values = [outer_before[key][0], *times], [outer_before[key][1], *values]
        if key in outer_after:
            times, values = [*times, outer_after[key][0]], [*values, outer_after[key][1]]
        t = np.asarray(times, dtype=np.int64)
        rows = hourly_arrays(counter_intervals(t, np.asarray(values, dtype=float),
                                               counter_spec(by_code[code].meter(meter))), t)
        keep = (rows["hour_s"] >= lo) & (rows["hour_s"] < hi)
        n = int(keep.sum())
        if not n:
            continue
        for name, column in rows.items():
            parts[name].append(column[keep])
        for name, value in (("enterprise", code), ("meter", meter), ("quantity", quantity)):
            parts[name].append(np.full(n, value, dtype=object))
    columns = ["enterprise", "meter", "quantity", "hour_s", *HOURLY_FIELDS]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame({c: np.concatenate(parts[c]) for c in columns})


def _lines(measurement: str, rows: pd.DataFrame, tags: tuple[str, ...], fields: tuple[str, ...],
           time_column: str) -> list[str]:
    """Line protocol for a frame: one point per row, ints written as ints."""
    out: list[str] = []
    for rec in rows.to_dict("records"):
        values = {n: (int(rec[n]) if n in INT_FIELDS else float(rec[n])) for n in fields}
        out.append(line(measurement, {t: str(rec[t]) for t in tags}, values, int(rec[time_column])))
    return out


def _read(influx: InfluxV1, measurement: str, fields: tuple[str, ...], codes: list[str], start_s: int, end_s: int,
          group: tuple[str, ...]) -> pd.DataFrame:
    """Stored derived rows of the enterprises in [start, end), tags as columns, `time` in epoch seconds."""
    q = (f"SELECT {', '.join(quote_ident(f) for f in fields)} FROM {quote_ident(measurement)} "
         f"WHERE {_in(codes)} AND time >= {_t(start_s)} AND time < {_t(end_s)} "
         f"GROUP BY {', '.join(quote_ident(g) for g in group)}")
    records = [r for s in influx.query(q) for r in s.records()]
    if not records:
        return pd.DataFrame(columns=[*group, "time", *fields])
    return pd.DataFrame.from_records(records).fillna(0)


def roll_up_calendar(influx: InfluxV1, enterprises: list[EnterpriseInfo], lo: int, hi: int) -> tuple[int, int, int]:
    """Recompute the local days and months that [lo, hi) touches from the stored hourly rollups.

    The enterprises must share a time zone (the caller groups them).
    """
    tz = enterprises[0].timezone
    codes = [e.code for e in enterprises]
    by_code = {e.code: e for e in enterprises}
    first_day = pd.Timestamp(lo, unit="s", tz="UTC").tz_convert(tz).date()
    last_day = pd.Timestamp(hi - 1, unit="s", tz="UTC").tz_convert(tz).date()
    day_lo = local_midnight_s(first_day, tz)
    day_hi = local_midnight_s(last_day + dt.timedelta(days=1), tz)
    stored = _read(influx, CONSUMPTION_HOURLY, HOURLY_FIELDS, codes, day_lo, day_hi,
                   ("enterprise", "meter", "quantity"))
    meter_daily = daily_from_hourly(stored.rename(columns={"time": "hour_s"}), tz)
    day_s = {d: local_midnight_s(d, tz) for d in meter_daily["day"].unique()} if not meter_daily.empty else {}
    meter_daily["time"] = meter_daily["day"].map(day_s)
    ent_daily = enterprises_daily(meter_daily, by_code)
    prod_daily = products_daily(meter_daily, by_code)
    for frame in (ent_daily, prod_daily):
        frame["time"] = frame["day"].map(day_s)
    lines = _lines(CONSUMPTION_DAILY, meter_daily, ("enterprise", "meter", "quantity"), HOURLY_FIELDS, "time")
    lines += _lines(ENTERPRISE_DAILY, ent_daily, ("enterprise", "carrier"), DAILY_TOTAL_FIELDS, "time")
    lines += _lines(PRODUCT_DAILY, prod_daily, ("enterprise", "product", "carrier"), DAILY_TOTAL_FIELDS, "time")
    _write(influx, lines)
    month_lo = local_midnight_s(month_start(first_day), tz)
    month_hi = local_midnight_s(next_month(last_day), tz)
    days = _read(influx, ENTERPRISE_DAILY, ("value", "estimated", "completeness"), codes, month_lo, month_hi,
                 ("enterprise", "carrier"))
    months = 0
    if not days.empty:
        days["day"] = pd.to_datetime(days["time"], unit="s", utc=True).dt.tz_convert(tz).dt.date
        monthly = monthly_from_daily(days[["enterprise", "carrier", "day", "value", "estimated", "completeness"]])
        monthly["time"] = [local_midnight_s(m, tz) for m in monthly["month"]]
        month_lines = _lines(ENTERPRISE_MONTHLY, monthly, ("enterprise", "carrier"),
                             ("value", "estimated", "completeness"), "time")
        _write(influx, month_lines)
        months = len(month_lines)
    return len(meter_daily), len(ent_daily), months


def _write(influx: InfluxV1, lines: list[str]) -> None:
    for i in range(0, len(lines), WRITE_BATCH):
        influx.write(lines[i:i + WRITE_BATCH], compress=True)


Progress = Callable[[int, int], None]
"""Called with (chunks done, chunks in all) as a run goes (a terminal progress bar)."""


def run_rollup(influx: InfluxV1, enterprises: list[EnterpriseInfo], *, now_s: int | None = None,
               since_s: int | None = None, scan_days: int = 0, only: bool = False, commit: bool = True,
               progress: Progress | None = None) -> RollupReport:
    """Bring the derived measurements up to date: the hours the ingest marks name, and with `since_s` (or
    `scan_days`) every hour from then whose raw readings differ from what its rollup was computed from.

    Enterprises with the same dirty span and time zone are recomputed together, `BATCH_ENTERPRISES` at a
    time, so a steady hourly run costs a handful of queries, not a handful per enterprise. `only`: look at
    the given enterprises alone (else the raw layer's other enterprises are reported as unknown), with a
    marks cursor of their own (scope: their codes). `commit=False`: leave storing the cursor (`commit_marks`)
    to the caller, after what it does with the report (the dashboard feed of the recomputed days).
    """
    started = time.monotonic()
    now_s = int(now_s if now_s is not None else time.time())
    report = RollupReport(enterprises=len(enterprises))
    fields = counter_fields(influx)
    by_code = {e.code: e for e in enterprises}
    report.scope = ",".join(sorted(by_code)) if only else ALL
    new = read_new_marks(influx, read_cursor(influx, report.scope))
    report.marks = new.marks
    hours = {code: set(hs) for code, hs in new.hours.items() if not only or code in by_code}
    if since_s is not None or scan_days:
        scan_lo = since_s if since_s is not None else now_s - scan_days * DAY_S
        scan_lo = (scan_lo // DAY_S) * DAY_S
        scan_hi = (now_s // DAY_S + 2) * DAY_S  # readings up to 5 minutes in the future are accepted
        for code, (lo, hi) in dirty_spans(influx, fields, scan_lo, scan_hi, sorted(by_code) if only else None).items():
            hours.setdefault(code, set()).update(range(lo // HOUR_S, (hi - 1) // HOUR_S + 1))
    report.unknown_enterprises = sorted(set(hours) - set(by_code))
    groups: dict[tuple[int, int, str], list[EnterpriseInfo]] = defaultdict(list)
    for code in sorted(set(hours) & set(by_code)):
        report.spans[code] = dirty_ranges(hours[code], MERGE_GAP_H)
        for lo, hi in report.spans[code]:
            groups[(lo, hi, by_code[code].timezone)].append(by_code[code])
    chunks: list[tuple[list[EnterpriseInfo], int, int]] = []
    for (start, end, _tz), members in sorted(groups.items()):
        for i in range(0, len(members), BATCH_ENTERPRISES):
            batch = members[i:i + BATCH_ENTERPRISES]
            step = max(HOUR_S, SPAN_ENTERPRISE_SECONDS // len(batch) // HOUR_S * HOUR_S)
            chunks += [(batch, lo, min(lo + step, end)) for lo in range(start, end, step)]
    horizon = max(now_s, int(time.time())) + HORIZON_S
    for done, (members, start, end) in enumerate(chunks):
        if progress is not None:
            progress(done, len(chunks))
        batch = {e.code: e for e in members}
        for (lo, hi), codes in sorted(widened_spans(influx, list(batch), fields, start, end, horizon).items()):
            group = [batch[c] for c in codes]
            rows = recompute_hours(influx, group, fields, lo, hi, horizon)
            _write(influx, _lines(CONSUMPTION_HOURLY, rows, ("enterprise", "meter", "quantity"), HOURLY_FIELDS,
                                  "hour_s"))
            report.hours += len(rows)
            for code in codes:
                old = report.dirty.get(code, (lo, hi))
                report.dirty[code] = (min(old[0], lo), max(old[1], hi))
            days, ent_days, months = roll_up_calendar(influx, group, lo, hi)
            report.days += days
            report.enterprise_days += ent_days
            report.months += months
    report.chunks = len(chunks)
    if progress is not None:
        progress(len(chunks), len(chunks))
    report.through = new.through
    if commit:
        commit_marks(influx, report)
    report.seconds = time.monotonic() - started
    return report


def commit_marks(influx: InfluxV1, report: RollupReport) -> None:
    """Advance the marks cursor past the marks `report`'s run consumed (after everything built on it is done)."""
    advance(influx, report.through, report.scope)
    report.through = {}
