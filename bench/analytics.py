"""Analytics benchmark: `enerdiag rollup` over an hour of minute data, and `enerdiag analyze` over a year of rollups.

Starts its own InfluxDB (Debian package, via enerdiag.localservices) in a temp dir and a SQLite registry of
1,000 enterprises × 5 meters (electricity main and two subs, gas, clinker output; each with a 2025 carbon
budget and a quarter of green certificates), loaded through `registry load`'s loader. Then, in one run:

- rollup: the hour before last of 1-minute readings (61 per counter, 305,000 points) is written to two
  databases, each write followed by its ingest marks as the collector writes them (core/marks.py); one is
  rolled up in-process with InfluxDB calls timed per kind of query and the CPU seconds of this process and
  of influxd counted, to say what dominates; the other by the real `enerdiag rollup`
  as a subprocess (wall time, and the job's own time from its summary line); a second run finds nothing
  to do (the steady-state cost of the hourly cron).
- backfill: a year (2024) of 15-minute readings of one enterprise's 5 meters (175,685 points), marked, then
  a plain `enerdiag rollup` as a subprocess (wall time and its summary line).
- analyze: a year (2025) of `enterprise_daily` / `enterprise_monthly` points for the same 1,000 enterprises
  (electricity, natural gas, output) is written directly, then `enerdiag analyze --json` runs as a
  subprocess for the whole year and for 10 Jan .. 20 Dec (edge days read from the daily layer, and 1..9
  January for the budget's year to date), each after the same in-process with InfluxDB calls timed.

    .venv/bin/python bench/analytics.py [--enterprises 1000] [--json out.json] [--rollup-only]

Not part of the test suite; about two minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# this file is named like the `analytics` package: drop its own directory from the path, or it shadows it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from analytics.analyze_job import analyze as run_analyze  # noqa: E402
from analytics.calendar import local_midnight_s, next_month  # noqa: E402
from analytics.registry_view import load_enterprises  # noqa: E402
from analytics.rollup_job import run_rollup  # noqa: E402
from analytics.summary import AnalyzeOptions  # noqa: E402
from core.influx import InfluxV1  # noqa: E402
from core.marks import IngestMarks  # noqa: E402
from core.reference import get_reference  # noqa: E402
from core.registry.creditcode import complete_credit_code  # noqa: E402
from core.registry.db import dispose_engines, session_scope  # noqa: E402
from core.registry.loader import load_registry_file  # noqa: E402
from enerdiag.localservices import InfluxD  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENERDIAG = str(Path(sys.executable).with_name("enerdiag"))
TZ = "Asia/Shanghai"
YEAR = 2025
METERS = (("M01", "energy_kwh", 3.0), ("M02", "energy_kwh", 1.0), ("M03", "energy_kwh", 0.8),
          ("G01", "gas_m3", 0.5), ("O01", "output_t", 0.05))
"""(meter, counter, increment per minute) of each enterprise."""
BATCH = 5000
BUDGETS_T = (30_000, 12_000, 5_000)
"""2025 budgets in turn: the plants emit about 7,000 to 18,600 t a year, so some are within, some over."""


def log(text: str) -> None:
    print(f"[analytics] {text}", file=sys.stderr, flush=True)


class TimedInflux(InfluxV1):
    """InfluxV1 that adds up the wall time spent in queries (HTTP + JSON parse) and writes."""

    query_s = 0.0
    write_s = 0.0
    queries = 0
    writes = 0
    by_kind: dict[str, list[float]]

    def query(self, q: str, epoch: str = "s", rp: str | None = None) -> Any:
        started = time.perf_counter()
        rows = 0
        try:
            answer = super().query(q, epoch, rp)
            rows = sum(len(s.values) for s in answer)
            return answer
        finally:
            seconds = time.perf_counter() - started
            self.query_s += seconds
            self.queries += 1
            kind = query_kind(q)
            if not hasattr(self, "by_kind"):
                self.by_kind = {}
            acc = self.by_kind.setdefault(kind, [0, 0.0, 0])
            acc[0] += 1
            acc[1] += seconds
            acc[2] += rows

    def write(self, lines: Any, precision: str = "s", compress: bool = False, rp: str | None = None) -> None:
        started = time.perf_counter()
        try:
            super().write(lines, precision, compress, rp)
        finally:
            self.write_s += time.perf_counter() - started
            self.writes += 1


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of this process and of influxd over a block: which side did the work."""

    def __init__(self, influxd_pid: int) -> None:
        self.pid = influxd_pid

    def __enter__(self) -> CpuMeter:
        self.own0, self.influx0 = cpu_s(os.getpid()), cpu_s(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.own = cpu_s(os.getpid()) - self.own0
        self.influx = cpu_s(self.pid) - self.influx0

    def as_dict(self) -> dict[str, float]:
        return {"cpu_python_s": round(self.own, 2), "cpu_influxd_s": round(self.influx, 2)}


def query_kind(q: str) -> str:
    """A query's measurement and grouping, e.g. `reading count GROUP BY time(1d)`, to add up time per kind."""
    found = re.search(r'FROM\s+"?(\w+)"?', q)
    what = found.group(1) if found else q.split()[0]
    func = re.match(r"SELECT\s+(\w+)\(", q)
    group = re.search(r"GROUP BY time\((\w+)\)", q)
    return " ".join(p for p in (what, func.group(1) if func else "raw", f"per {group.group(1)}" if group else "")
                    if p)


def codes(n: int) -> list[str]:
    return [complete_credit_code("91140200", f"MA{i:06d}") for i in range(n)]


def registry_yaml(enterprise_codes: list[str]) -> str:
    out = ["enterprises:"]
    for i, code in enumerate(enterprise_codes):
        out += [f"  - code: {code}", f"    name: 基准企业{code[-6:]}", '    industry: "3011"', "    county: 云冈区",
                "    product: cement_clinker", "    gateways: [{id: gw1}]", "    meters:",
                "      - {id: M01, carrier: electricity, role: main}",
                "      - {id: M02, carrier: electricity, role: sub}",
                "      - {id: M03, carrier: electricity, role: sub}",
                "      - {id: G01, carrier: natural_gas, role: main}",
                "      - {id: O01, carrier: output, role: process}",
                f"    carbon_budgets: [{{year: 2025, budget_t: {BUDGETS_T[i % len(BUDGETS_T)]}}}]",
                "    green_power: [{type: green_certificate, from: 2025-01-01, until: 2025-03-31, mwh: 2000}]"]
    return "\n".join(out) + "\n"


def batches(lines: Iterator[str]) -> Iterator[str]:
    chunk: list[str] = []
    for item in lines:
        chunk.append(item)
        if len(chunk) == BATCH:
            yield "\n".join(chunk)
            chunk = []
    if chunk:
        yield "\n".join(chunk)


def minute_lines(enterprise_codes: list[str], hour_s: int) -> Iterator[str]:
    """61 readings per counter: every minute of the hour and the next hour's first (f-string: ids need no escaping)."""
    for i, code in enumerate(enterprise_codes):
        for meter, field, step in METERS:
            base = 1000.0 + i
            for k in range(61):
                yield (f"reading,enterprise={code},gateway=gw1,meter={meter} "
                       f"{field}={base + step * k:.3f} {hour_s + 60 * k}")


def year_lines(enterprise_codes: list[str]) -> Iterator[str]:
    """enterprise_daily for every local day of YEAR and enterprise_monthly as their sums (3 carriers)."""
    days = [dt.date(YEAR, 1, 1) + dt.timedelta(days=d) for d in range((dt.date(YEAR + 1, 1, 1) -
                                                                        dt.date(YEAR, 1, 1)).days)]
    starts = [local_midnight_s(d, TZ) for d in days]
    months = [dt.date(YEAR, m, 1) for m in range(1, 13)]
    for i, code in enumerate(enterprise_codes):
        scale = 1.0 + (i % 17) / 10
        for carrier, per_day in (("electricity", 24_000.0), ("natural_gas", 2_400.0), ("output", 48.0)):
            value = per_day * scale
            meters = 1
            for start in starts:
                yield (f"enterprise_daily,carrier={carrier},enterprise={code} value={value},estimated=0.0,"
                       f"completeness=1.0,meters={meters}i {start}")
            for month in months:
                n = (next_month(month) - month).days
                yield (f"enterprise_monthly,carrier={carrier},enterprise={code} value={value * n},estimated=0.0,"
                       f"completeness=1.0 {local_midnight_s(month, TZ)}")


def write_all(influx: InfluxV1, lines: Iterator[str], marks: IngestMarks | None = None) -> tuple[int, float]:
    """Write in batches; with `marks`, each batch's ingest marks after it, as the collector does."""
    started = time.perf_counter()
    n = 0
    for chunk in batches(lines):
        influx.write(chunk)
        if marks is not None:
            marks.mark(influx, chunk.encode())
        n += chunk.count("\n") + 1
    return n, time.perf_counter() - started


def quarter_hour_lines(code: str, year: int) -> Iterator[str]:
    """A year of 15-minute readings of one enterprise's 5 meters (a gateway's backlog, or an import)."""
    start = local_midnight_s(dt.date(year, 1, 1), TZ)
    steps = (local_midnight_s(dt.date(year + 1, 1, 1), TZ) - start) // 900
    for meter, field, step in METERS:
        for k in range(steps + 1):
            value = 1000.0 + 15 * step * k
            yield f"reading,enterprise={code},gateway=gw1,meter={meter} {field}={value:.3f} {start + 900 * k}"


def cli(args: list[str], env: dict[str, str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    done = subprocess.run([ENERDIAG, *args], env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"enerdiag {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return seconds, done.stdout, done.stderr.strip()


def machine() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, InfluxDB 1.6.7 on the same host"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--rollup-only", action="store_true", help="the rollup cases only (no year of analysis)")
    args = parser.parse_args()
    results: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                               "enterprises": args.enterprises, "meters_per_enterprise": len(METERS),
                               "load_average_start": [round(x, 2) for x in os.getloadavg()]}
    workdir = Path(tempfile.mkdtemp(prefix="enerdiag-bench-analytics-"))
    os.chmod(workdir, 0o755)
    influxd = InfluxD(workdir / "influxdb")
    try:
        influxd.start()
        results.update(bench(influxd, workdir, args.enterprises, args.rollup_only))
        results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        influxd.stop()
        dispose_engines()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def bench(influxd: InfluxD, workdir: Path, n: int, rollup_only: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    assert influxd.pid is not None, "influxd not started"
    enterprise_codes = codes(n)
    db_url = f"sqlite:///{workdir / 'registry.sqlite3'}"
    registry = workdir / "registry.yaml"
    registry.write_text(registry_yaml(enterprise_codes), encoding="utf-8")
    started = time.perf_counter()
    with session_scope(db_url) as session:
        load_registry_file(session, registry)
    out["registry_load_s"] = round(time.perf_counter() - started, 2)
    log(f"registry of {n} enterprises loaded in {out['registry_load_s']} s")
    started = time.perf_counter()
    with session_scope(db_url) as session:
        enterprises = load_enterprises(session)
    out["registry_read_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    reference = get_reference()
    out["reference_load_s"] = round(time.perf_counter() - started, 2)
    env = {**os.environ, "ENERDIAG_INFLUX_URL": influxd.url, "ENERDIAG_DB_URL": db_url,
           "ENERDIAG_DATA_DIR": str(workdir / "data")}

    # ---- rollup: one hour of minute data
    hour_s = (int(time.time()) // 3600 - 2) * 3600  # its 61st reading (next hour's first) is in the past too
    for db in ("rollup_cli", "rollup_split"):
        influxd.create_database(db)
    with InfluxV1(influxd.url, "rollup_split") as influx, InfluxV1(influxd.url, "rollup_cli") as other:
        points, seconds = write_all(influx, minute_lines(enterprise_codes, hour_s), IngestMarks("bench-split"))
        write_all(other, minute_lines(enterprise_codes, hour_s), IngestMarks("bench-cli"))
    out["raw_points"] = points
    out["raw_write_points_per_s"] = round(points / seconds)
    log(f"{points} raw points written in {seconds:.1f} s (and again into a second database)")
    with TimedInflux(influxd.url, "rollup_split", timeout=120) as influx, CpuMeter(influxd.pid) as cpu:
        started = time.perf_counter()
        report = run_rollup(influx, enterprises)
        total = time.perf_counter() - started
    out["rollup_inprocess"] = {**split(total, influx, hours=report.hours, days=report.days,
                                       enterprise_days=report.enterprise_days, months=report.months),
                               **cpu.as_dict()}
    log(f"rollup in-process: {out['rollup_inprocess']}")
    out["rollup_cli_load_before"] = [round(x, 2) for x in os.getloadavg()]
    wall, _, summary = cli(["rollup"], {**env, "ENERDIAG_INFLUX_DB": "rollup_cli"})
    out["rollup_cli_wall_s"] = round(wall, 2)
    out["rollup_cli_summary"] = summary
    log(f"enerdiag rollup: {wall:.1f} s wall ({summary})")
    wall, _, summary = cli(["rollup"], {**env, "ENERDIAG_INFLUX_DB": "rollup_cli"})
    out["rollup_noop_cli_wall_s"] = round(wall, 2)
    out["rollup_noop_cli_summary"] = summary
    log(f"enerdiag rollup again (nothing new): {wall:.1f} s wall ({summary})")

    # ---- a year's backfill of one enterprise at 15 minutes, marked as the collector marks it
    influxd.create_database("backfill")
    with InfluxV1(influxd.url, "backfill", timeout=120) as influx:
        points, seconds = write_all(influx, quarter_hour_lines(enterprise_codes[0], YEAR - 1),
                                    IngestMarks("bench-backfill"))
    out["backfill_points"] = points
    log(f"{points} raw points of one enterprise's year written in {seconds:.1f} s")
    out["backfill_cli_load_before"] = [round(x, 2) for x in os.getloadavg()]
    wall, _, summary = cli(["rollup"], {**env, "ENERDIAG_INFLUX_DB": "backfill"})
    out["backfill_cli_wall_s"] = round(wall, 2)
    out["backfill_cli_summary"] = summary
    log(f"enerdiag rollup of the year's backfill: {wall:.1f} s wall ({summary})")

    if rollup_only:
        return out

    # ---- analyze: a year of rollups
    influxd.create_database("year")
    with InfluxV1(influxd.url, "year", timeout=120) as influx:
        points, seconds = write_all(influx, year_lines(enterprise_codes))
    out["year_rollup_points"] = points
    log(f"{points} daily/monthly rollup points written in {seconds:.1f} s")
    year_env = {**env, "ENERDIAG_INFLUX_DB": "year"}
    with InfluxV1(influxd.url, "year", timeout=120) as influx:  # warm up: read every point once
        influx.query('SELECT count("value") FROM "enterprise_daily"')
    for key, lo, hi in (("analyze_year", "2025-01-01", "2026-01-01"), ("analyze_edges", "2025-01-10", "2025-12-20")):
        with TimedInflux(influxd.url, "year", timeout=120) as influx, CpuMeter(influxd.pid) as cpu:
            started = time.perf_counter()
            results = run_analyze(influx, enterprises, dt.date.fromisoformat(lo), dt.date.fromisoformat(hi),
                                  reference, AnalyzeOptions(as_of=dt.date(2026, 1, 1)))
            computed = time.perf_counter() - started
            json_started = time.perf_counter()
            json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2)
            json_s = time.perf_counter() - json_started
        out[f"{key}_inprocess"] = {**split(computed, influx), "json_s": round(json_s, 2), **cpu.as_dict()}
        log(f"analyze in-process {lo}..{hi}: {out[f'{key}_inprocess']}")
        wall, stdout, _ = cli(["analyze", "--from", lo, "--to", hi, "--as-of", "2026-01-01", "--json"], year_env)
        objects = json.loads(stdout)
        statuses = {s: sum(o["co2"]["budget_status"] == s for o in objects)
                    for s in sorted({o["co2"]["budget_status"] for o in objects})}
        out[f"{key}_cli_wall_s"] = round(wall, 2)
        out[f"{key}_budget_status"] = statuses
        log(f"enerdiag analyze {lo}..{hi}: {wall:.1f} s wall, {len(objects)} objects, budget status {statuses}")
    started = time.perf_counter()
    subprocess.run([ENERDIAG, "--help"], env=env, capture_output=True, check=True)
    out["cli_startup_s"] = round(time.perf_counter() - started, 2)
    return out


def split(total: float, influx: TimedInflux, **extra: int) -> dict[str, Any]:
    kinds = sorted(getattr(influx, "by_kind", {}).items(), key=lambda kv: -kv[1][1])
    return {"total_s": round(total, 2), "influx_query_s": round(influx.query_s, 2), "queries": influx.queries,
            "influx_write_s": round(influx.write_s, 2), "writes": influx.writes,
            "python_s": round(total - influx.query_s - influx.write_s, 2), **extra,
            "query_kinds": {k: {"n": n, "s": round(sec, 2), "rows": rows} for k, (n, sec, rows) in kinds}}


if __name__ == "__main__":
    main()
