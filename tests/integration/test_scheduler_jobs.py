"""`enerdiag scheduler` runs the real jobs on the real services: a failure and successes recorded in the
registry and in InfluxDB, the platform-health panels answer over those points, downsampled gauges match the
raw readings, the broker's files follow the registry, and GET /health reports it all."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.influx import InfluxV1, line
from dashboards import health
from dashboards.macros import expand, panel_range
from dashboards.model import TIMEZONE
from tests.conftest import Services

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CODE, GATEWAY = "91140214MA0FE1KM73", "gw-kiln"
JOBS = ("rollup", "dashboard-feed", "webhooks", "weather", "downsample", "broker-sync")


def scheduler(env: dict[str, str], *args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "enerdiag", "scheduler", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def outcomes(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    return {o["job"]: o for o in (json.loads(t) for t in done.stdout.splitlines() if t.startswith("{"))}


def wait_for_next_slot(every: int) -> None:
    time.sleep(every - time.time() % every + 0.5)


def raw_power(now: int) -> tuple[list[str], dict[int, list[float]]]:
    """Power every 5 min over the last 4 hours, and the values per clock hour."""
    lines, by_hour = [], {}
    start = now - now % 3600 - 4 * 3600
    for k in range(48):
        t = start + 300 * k
        kw = 1000.0 + 37.0 * (k % 7) + 3.0 * k
        lines.append(line("reading", {"enterprise": CODE, "gateway": GATEWAY, "meter": "M01"},
                          {"power_kw": kw, "energy_kwh": 100.0 + k}, t))
        by_hour.setdefault(t - t % 3600, []).append(kw)
    return lines, by_hour


def test_scheduler_runs_the_real_jobs(services: Services, influx_db: str, tmp_path: Path) -> None:
    every = 10
    env = {**os.environ, **services.env, "ENERDIAG_INFLUX_DB": influx_db, "ENERDIAG_DATA_DIR": str(tmp_path / "d"),
           "ENERDIAG_BROKER_AUTH_DIR": str(tmp_path / "auth"),
           "ENERDIAG_MQTT_URL": f"mqtt://collector:s3cret@{services.mqtt_host}:{services.mqtt_port}"}
    env.pop("ENERDIAG_DB_URL", None)
    env.update({f"ENERDIAG_JOB_{j.upper().replace('-', '_')}_EVERY": str(every) for j in JOBS})
    env["ENERDIAG_JOB_WEBHOOKS_EVERY"] = "0"
    influx = InfluxV1(services.influx_url, influx_db)
    now = int(time.time())
    lines, by_hour = raw_power(now)
    influx.write(lines)

    # 1. an empty registry: the rollup fails with the command's own reason; the failure is recorded
    failed = scheduler(env, "--once", "--job", "rollup")
    assert failed.returncode == 1, failed.stderr
    first = outcomes(failed)["rollup"]
    assert first["ran"] and first["exit_code"] == 2
    assert "the registry has no enterprises" in str(first["error"])

    # 2. with the registry: every switched-on job runs in a new slot and succeeds
    loaded = subprocess.run([sys.executable, "-m", "enerdiag", "registry", "load", "deploy/registry-datong.yaml"],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert loaded.returncode == 0, loaded.stderr
    wait_for_next_slot(every)
    done = scheduler(env, "--once")
    assert done.returncode == 0, done.stderr[-3000:]
    ran = outcomes(done)
    assert set(ran) == {"rollup", "dashboard-feed", "downsample", "broker-sync"}  # weather: no source configured
    assert all(o["ran"] and o["error"] is None for o in ran.values()), ran

    # downsampled gauges = the raw readings' hourly statistics
    closed = [h for h in sorted(by_hour) if h + 3600 <= now]
    (series,) = influx.query(f'SELECT * FROM "reading_hourly" WHERE "enterprise" = \'{CODE}\' '
                             f"AND time >= {closed[0]}s AND time < {closed[-1] + 3600}s GROUP BY \"meter\"")
    rows = {r["time"]: r for r in series.records()}
    assert sorted(rows) == closed
    for hour in closed:
        values = by_hour[hour]
        assert rows[hour]["power_kw_mean"] == pytest.approx(sum(values) / len(values))
        assert rows[hour]["power_kw_max"] == max(values) and rows[hour]["power_kw_min"] == min(values)
        assert rows[hour]["power_kw_count"] == len(values) == 12
        assert "energy_kwh_mean" not in rows[hour]  # counters are rolled up, not downsampled

    # the broker's accounts follow the registry
    acl = (tmp_path / "auth" / "acl").read_text()
    assert f"user {CODE}.{GATEWAY}\ntopic write em/v1/{CODE}/{GATEWAY}/#" in acl
    users = {row.split(":", 1)[0] for row in (tmp_path / "auth" / "passwd").read_text().splitlines()}
    assert {f"{CODE}.{GATEWAY}", f"{CODE}.gw-mill"} <= users  # every gateway of the registry

    # 3. the platform-health panels answer over the scheduler's own points
    board = health.dashboard()
    panels = {p.title: p for p in board.panels}
    at = dt.datetime.now(dt.UTC)

    def run(title: str) -> list[dict[str, object]]:
        panel = panels[title]
        start, end = panel_range(at, board.time_from, panel.time_from, TIMEZONE)
        return [{**r} for s in influx.query(expand(panel.targets[0].query, start, end, {},
                                                   min_interval=panel.interval or "1m")) for r in s.records()]

    last = {r["job"]: r for r in run("定时任务（最近一次运行）")}
    assert set(last) == set(ran)
    assert all(r["ok"] == 1 and r["exit_code"] == 0 for r in last.values())
    assert last["rollup"]["duration_s"] == pytest.approx(ran["rollup"]["duration_s"], abs=0.01)
    (failure,) = run("定时任务失败")
    assert failure["job"] == "rollup" and failure["exit_code"] == 2 and "no enterprises" in failure["error"]
    assert {r["job"] for r in run("定时任务耗时") if r["duration_s"] is not None} == set(ran)

    # 4. the health endpoint of a running replica reports the registry's view of every job
    quiet = {**env, **{f"ENERDIAG_JOB_{j.upper().replace('-', '_')}_EVERY": "0" for j in JOBS}}
    proc = subprocess.Popen([sys.executable, "-m", "enerdiag", "scheduler", "--health-port", "0"], env=quiet,
                            cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        port = None
        for text in proc.stderr:
            if text.startswith("{") and "health_port" in text:
                port = json.loads(text)["health_port"]
                break
        assert port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as response:
            assert response.status == 200
            body = json.loads(response.read())
        jobs = {j["job"]: j for j in body["jobs"]}
        assert body["status"] == "ok" and body["problems"] == []
        assert jobs["rollup"]["runs"] == 2 and jobs["rollup"]["last_error"] is None
        assert jobs["rollup"]["last_ok"] is not None and jobs["rollup"]["last_exit_code"] == 0
        assert jobs["broker-sync"]["runs"] == 1 and jobs["webhooks"]["runs"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
