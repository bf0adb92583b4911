"""Bank API benchmark: `enerdiag api --workers 2` on a real InfluxDB with a city of rollups, driven by wrk.

Starts its own InfluxDB (Debian package, via enerdiag.localservices) in a temp dir, a SQLite registry of
N enterprises (main electricity meter, output counter, clinker product) consented to one bank with every
scope, and writes 24 months of `enterprise_daily` / `enterprise_monthly` rollups (electricity, output) for
each. Then it serves the API with `enerdiag api --workers 2` on 127.0.0.1 and runs wrk (bounded: fixed
connections and duration) against /v1/health, /v1/enterprises, /profile and /credit-indicators; the
enterprise endpoints rotate over every enterprise (a Lua script). Each run follows a 5-s warm-up of the same
requests (worker start-up, caches). Before serving, the credit indicators of every enterprise on `AS_OF` are
precomputed as `enerdiag rollup` does after each run (api.precompute; its time is reported), and
`credit_indicators` rotates over every enterprise on that day: the production path of a bank's request.
`credit_indicators_cold` rotates over 28 other `as_of` days × every enterprise (28,000 distinct requests, no
warm-up), so nearly every request computes its figures from the rollups.

    .venv/bin/python bench/api.py [--enterprises 1000] [--seconds 10] [--connections 32] [--json out.json]

Needs `wrk` (apt-get install wrk). Not part of the test suite; about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

# this file is named like the `api` package: drop its own directory from the path, or it shadows it
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from analytics.calendar import local_midnight_s, next_month  # noqa: E402
from analytics.registry_view import load_enterprises  # noqa: E402
from api.models import ensure_tables  # noqa: E402
from api.precompute import precompute_credit  # noqa: E402
from core.influx import InfluxV1  # noqa: E402
from core.reference import get_reference  # noqa: E402
from core.registry.access import add_bank, grant_consent, issue_api_key  # noqa: E402
from core.registry.creditcode import complete_credit_code  # noqa: E402
from core.registry.db import dispose_engines, get_engine, session_scope  # noqa: E402
from core.registry.loader import load_registry_file  # noqa: E402
from enerdiag.localservices import InfluxD  # noqa: E402
from enerdiag.localservices.postgres import Postgres  # noqa: E402
from enerdiag.localservices.procs import free_port  # noqa: E402

ENERDIAG = str(Path(sys.executable).with_name("enerdiag"))
TZ = "Asia/Shanghai"
FIRST, END = dt.date(2024, 11, 1), dt.date(2026, 11, 1)
AS_OF = "2026-11-01"
BATCH = 5000
WARMUP_S = 5
PRECOMPUTED_AT = dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)
"""When the bench's `enerdiag rollup` runs: 04:00 on AS_OF in Shanghai, so its precomputed day is AS_OF."""


def log(text: str) -> None:
    print(f"[api] {text}", file=sys.stderr, flush=True)


def codes(n: int) -> list[str]:
    return [complete_credit_code("91140200", f"MA{i:06d}") for i in range(n)]


def registry_yaml(enterprise_codes: list[str]) -> str:
    out = ["enterprises:"]
    for code in enterprise_codes:
        out += [f"  - code: {code}", f"    name: 基准企业{code[-6:]}", '    industry: "3011"', "    county: 云冈区",
                "    product: cement_clinker", "    gateways: [{id: gw1}]", "    meters:",
                "      - {id: M01, carrier: electricity, role: main}",
                "      - {id: O01, carrier: output, role: process, product: cement_clinker}"]
    return "\n".join(out) + "\n"


def rollup_lines(enterprise_codes: list[str]) -> Iterator[str]:
    """enterprise_daily for every local day of [FIRST, END) and enterprise_monthly as their sums."""
    days = [FIRST + dt.timedelta(days=d) for d in range((END - FIRST).days)]
    starts = [local_midnight_s(d, TZ) for d in days]
    months, m = [], FIRST
    while m < END:
        months.append(m)
        m = next_month(m)
    for i, code in enumerate(enterprise_codes):
        scale = 1.0 + (i % 17) / 10
        for carrier, per_day in (("electricity", 24_000.0), ("output", 48.0)):
            value = per_day * scale
            for start in starts:
                yield (f"enterprise_daily,carrier={carrier},enterprise={code} value={value},estimated=0.0,"
                       f"completeness=1.0,meters=1i {start}")
            for month in months:
                n = (next_month(month) - month).days
                yield (f"enterprise_monthly,carrier={carrier},enterprise={code} value={value * n},estimated=0.0,"
                       f"completeness=1.0 {local_midnight_s(month, TZ)}")


def write_all(influx: InfluxV1, lines: Iterator[str]) -> int:
    n, chunk = 0, []
    for item in lines:
        chunk.append(item)
        if len(chunk) == BATCH:
            influx.write("\n".join(chunk))
            n, chunk = n + len(chunk), []
    if chunk:
        influx.write("\n".join(chunk))
        n += len(chunk)
    return n


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its (reaped) children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of `pid` and its live children (uvicorn workers)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_s(pid) + sum(cpu_s(int(c)) for c in children)


def settle(pid: int, limit_s: float = 120.0) -> None:
    """Wait until InfluxDB has finished compacting what was written (under 10 % of a core for 3 s)."""
    started = time.perf_counter()
    quiet(lambda: cpu_s(pid), limit_s)
    log(f"InfluxDB settled after {time.perf_counter() - started:.0f} s")


def quiet(cpu: Callable[[], float], limit_s: float = 30.0, window_s: float = 3.0) -> None:
    """Wait until `cpu()` (seconds of CPU used so far) grows by under 10 % of a core over `window_s`."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        before = cpu()
        time.sleep(window_s)
        if cpu() - before < 0.1 * window_s:
            return


LUA = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], {["Authorization"] = "Bearer %s"})
end
"""
PACE_LUA = """
delay = function()
  return math.random(0, 2 * %d)
end
"""


def wrk(url: str, paths: list[str], key: str, seconds: int, connections: int, workdir: Path,
        pace_ms: int = 0) -> dict[str, Any]:
    """One bounded wrk run rotating over `paths`: req/s, p50, p99 (ms), non-2xx count. With `pace_ms`, each
    connection waits that long after a response before its next request (an offered rate instead of as
    fast as the server answers; latency is measured from send to response). The wait is drawn uniformly from
    [0, 2 × pace_ms], so the connections do not fall into step and arrive in bursts."""
    script = workdir / "paths.lua"
    text = LUA % (", ".join(json.dumps(p) for p in paths), key)
    script.write_text(text + (PACE_LUA % pace_ms if pace_ms else ""), encoding="utf-8")
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    done = subprocess.run([*command, url],
                          capture_output=True, text=True, check=True)
    text = done.stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not match:
            raise SystemExit(f"wrk output without {label}%: {text}")
        value, unit = float(match.group(1)), match.group(2)
        return round(value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    return {"req_s": round(rps), "p50_ms": ms("50"), "p99_ms": ms("99"), "non_2xx": int(bad.group(1)) if bad else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=WARMUP_S, help="seconds of the same requests before each "
                        "measured run (long enough that every worker has seen every enterprise)")
    parser.add_argument("--registry", choices=("sqlite", "postgres"), default="sqlite",
                        help="registry: a SQLite file, or a local PostgreSQL (Debian package) as in production")
    parser.add_argument("--rate", type=int, default=1300, help="offered req/s of the paced run (each connection "
                        "waits connections/rate s between requests)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--profile", type=Path, help="py-spy the server during each run: collapsed stacks here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    results: dict[str, Any] = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                               "machine": f"{os.cpu_count()} cores, server, InfluxDB and wrk on the same host",
                               "enterprises": args.enterprises, "workers": args.workers,
                               "connections": args.connections, "seconds": args.seconds}
    workdir = Path(tempfile.mkdtemp(prefix="enerdiag-bench-api-"))
    os.chmod(workdir, 0o755)
    influxd = InfluxD(workdir / "influxdb")
    postgres = Postgres(workdir / "postgres") if args.registry == "postgres" else None
    server: subprocess.Popen[bytes] | None = None
    try:
        influxd.start()
        db_url = postgres.start().url if postgres is not None else f"sqlite:///{workdir / 'registry.sqlite3'}"
        results["registry"] = args.registry
        enterprise_codes = codes(args.enterprises)
        registry = workdir / "registry.yaml"
        registry.write_text(registry_yaml(enterprise_codes), encoding="utf-8")
        with session_scope(db_url) as session:
            load_registry_file(session, registry)
            add_bank(session, "bank-a", "基准银行")
            for code in enterprise_codes:
                grant_consent(session, code, "bank-a", ["profile", "credit", "series", "warehouse", "orders"],
                              dt.date(2099, 12, 31))
            key = issue_api_key(session, "bank-a")
        dispose_engines()
        with InfluxV1(influxd.url, "bench") as influx:
            influx.create_database()
            started = time.perf_counter()
            points = write_all(influx, rollup_lines(enterprise_codes))
            log(f"{points} rollup points written in {time.perf_counter() - started:.1f} s")
        results["rollup_points"] = points
        settle(influxd.pid or 0)
        engine = get_engine(db_url)
        ensure_tables(engine)
        with InfluxV1(influxd.url, "bench") as influx, session_scope(db_url) as session:
            report = precompute_credit(engine, session, influx, get_reference(), load_enterprises(session),
                                       now=PRECOMPUTED_AT)
        if report.failed or report.enterprises != len(enterprise_codes):
            raise SystemExit(f"precompute: {report.enterprises} stored, failed: {report.failed}")
        log(f"credit indicators of {report.enterprises} enterprises precomputed in {report.seconds:.1f} s")
        results["precompute"] = {"enterprises": report.enterprises, "seconds": round(report.seconds, 1)}
        dispose_engines()
        port = free_port()
        env = {**os.environ, "ENERDIAG_DB_URL": db_url, "ENERDIAG_INFLUX_URL": influxd.url,
               "ENERDIAG_INFLUX_DB": "bench", "ENERDIAG_DATA_DIR": str(workdir / "data")}
        server = subprocess.Popen([ENERDIAG, "api", "--host", "127.0.0.1", "--port", str(port), "--workers",
                                   str(args.workers), "--rate-limit", "100000000"], env=env,
                                  stdout=open(workdir / "access.log", "wb"),  # noqa: SIM115
                                  stderr=open(workdir / "api.log", "wb"))  # noqa: SIM115
        base = f"http://127.0.0.1:{port}"
        for _ in range(1200):  # up to 2 min: uvicorn's workers start slowly on a loaded machine
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit(f"the API did not come up: {(workdir / 'api.log').read_text()[-2000:]}")
        results["server_pid"] = server.pid
        cases = {
            "health": ["/v1/health"],
            "enterprises": ["/v1/enterprises?limit=100"],
            "profile": [f"/v1/enterprises/{c}/profile?from=2026-07&to=2026-09" for c in enterprise_codes],
            "credit_indicators": [f"/v1/enterprises/{c}/credit-indicators?as_of={AS_OF}"
                                  for c in enterprise_codes],
            "credit_indicators_paced": [f"/v1/enterprises/{c}/credit-indicators?as_of={AS_OF}"
                                        for c in enterprise_codes],
            "credit_indicators_cold": [f"/v1/enterprises/{c}/credit-indicators?as_of=2026-10-{d:02d}"
                                       for d in range(2, 30) for c in enterprise_codes],
        }
        check = httpx.get(base + cases["credit_indicators"][0], headers={"Authorization": f"Bearer {key}"},
                          timeout=30)
        if check.status_code != 200:
            raise SystemExit(f"credit-indicators answered {check.status_code}: {check.text[:500]}")
        results["runs"] = {}
        for name, paths in cases.items():
            if args.only and name not in args.only:
                continue
            # the previous case's last requests may still be computing (profile, cold): start on a quiet server
            quiet(lambda: tree_cpu_s(server.pid) + cpu_s(influxd.pid or 0))
            if name != "credit_indicators_cold":  # warm-up: every worker loads its reference data, fills caches
                wrk(base, paths, key, args.warmup, args.connections, workdir)
            spy = None
            if args.profile:
                args.profile.mkdir(parents=True, exist_ok=True)
                spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(server.pid),
                                        "--subprocesses", "--nonblocking", "-d", str(args.seconds), "-f", "raw", "-o",
                                        str(args.profile / f"{name}.txt")], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            before = (tree_cpu_s(server.pid), cpu_s(influxd.pid or 0), time.perf_counter())
            pace_ms = round(args.connections * 1000 / args.rate) if name.endswith("_paced") else 0
            results["runs"][name] = wrk(base, paths, key, args.seconds, args.connections, workdir, pace_ms)
            if pace_ms:
                results["runs"][name]["pace_ms"] = pace_ms
            wall = time.perf_counter() - before[2]
            results["runs"][name]["cpu_share"] = {
                "api": round((tree_cpu_s(server.pid) - before[0]) / wall, 2),
                "influxd": round((cpu_s(influxd.pid or 0) - before[1]) / wall, 2),
                "machine_load_1m": round(os.getloadavg()[0], 1)}
            if spy is not None:
                spy.wait(timeout=60)
            log(f"{name}: {results['runs'][name]}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
            log_text = "\n".join(p.read_text(errors="replace") for p in (workdir / "access.log", workdir / "api.log")
                                 if p.exists())
            results["server_errors"] = [ln for ln in log_text.splitlines()
                                        if re.search(r"ERROR|Error|error_id|locked", ln)][:10]
        influxd.stop()
        if postgres is not None:
            postgres.stop()
        dispose_engines()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
