"""Backup and restore as docs/operations.md tells them, on the local services: back up, wipe, restore, and the
figures are identical (InfluxDB 1.x portable backup; registry on SQLite with `.backup`, on PostgreSQL with
pg_dump -Fc / pg_restore)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.orm import Session

from analytics.analyze_job import analyze
from analytics.registry_view import load_enterprises
from analytics.rollup_job import run_rollup
from core.influx import InfluxError, InfluxV1, line
from core.reference import get_reference
from core.registry.db import init_db
from core.registry.loader import load_registry_file
from enerdiag.localservices.postgres import pg_bin_dir
from tests.conftest import Services

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REGISTRY = REPO / "deploy" / "registry-datong.yaml"
CODE = "91140214MA0FE1KM73"
TZ = ZoneInfo("Asia/Shanghai")


def rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted (the registry's figures: consents, keys, audit …)."""
    with engine.connect() as conn:
        names = sorted(inspect(conn).get_table_names())
        return {n: sorted(map(repr, conn.execute(text(f'SELECT * FROM "{n}"')))) for n in names}


def figures(influx: InfluxV1, engine: Engine, day: dt.date) -> str:
    """The analysis of `day` (energy, carbon, quota per enterprise) and the stored series' sums, as JSON."""
    with Session(engine) as session:
        enterprises = load_enterprises(session, [CODE])
    results = [r.to_json() for r in analyze(influx, enterprises, day, day + dt.timedelta(days=1), get_reference())]
    sums = {m: [s.values for s in influx.query(f'SELECT count("value"), sum("value") FROM "{m}"')]
            for m in ("consumption_hourly", "consumption_daily", "enterprise_daily")}
    raw = [s.values for s in influx.query('SELECT count("energy_kwh"), sum("energy_kwh") FROM "reading"')]
    return json.dumps({"analysis": results, "sums": sums, "raw": raw}, sort_keys=True, default=str)


def write_day(influx: InfluxV1, day: dt.date) -> None:
    """The main meter's counter every 15 min over `day` (local), with a varying load."""
    start = int(dt.datetime.combine(day, dt.time(), TZ).timestamp())
    value, lines = 1000.0, []
    for k in range(97):
        value += 0.01 + (k % 9) * 0.002  # × CT·PT 132000: 1.3-3.6 MWh per 15 min, within 25 MVA
        lines.append(line("reading", {"enterprise": CODE, "gateway": "gw-kiln", "meter": "M01"},
                          {"energy_kwh": value}, start + 900 * k))
    influx.write(lines)


def influxd(services: Services, *args: str) -> None:
    binary = services.influxd.binary()
    assert binary
    done = subprocess.run([binary, args[0], "-host", f"127.0.0.1:{services.influxd.rpc_port}", *args[1:]],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("registry", ["sqlite", "postgres"])
def test_back_up_wipe_restore_gives_identical_figures(registry: str, services: Services, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    db = f"backup_{uuid.uuid4().hex[:8]}"
    services.influxd.create_database(db)
    influx = InfluxV1(services.influx_url, db)
    if registry == "sqlite":
        url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    else:
        admin = create_engine(request.getfixturevalue("postgres_url"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        url = request.getfixturevalue("postgres_url").rsplit("/", 1)[0] + f"/{db}"
    engine = init_db(url)
    with Session(engine) as session:
        load_registry_file(session, REGISTRY)
        session.commit()
    day = dt.datetime.now(TZ).date() - dt.timedelta(days=2)
    write_day(influx, day)
    with Session(engine) as session:
        # readings written here carry no ingest marks: roll up from the day (the repair path, --since)
        run_rollup(influx, load_enterprises(session), since_s=int(dt.datetime.combine(day, dt.time(), TZ).timestamp()))
    before_figures, before_rows = figures(influx, engine, day), rows(engine)
    (analysis,) = json.loads(before_figures)["analysis"]
    assert analysis["tce"] is not None and analysis["co2"]["scope2_t"] > 0 and before_rows["meters"]

    # back up (online), as docs/operations.md says
    influxd(services, "backup", "-portable", "-database", db, str(tmp_path / "influx-backup"))
    dump = tmp_path / "registry-backup"
    if registry == "sqlite":
        database = url.removeprefix("sqlite:///")
        subprocess.run(["sqlite3", database, f".backup '{dump}'"], check=True, timeout=60)
    else:
        pg_dump = pg_bin_dir() / "pg_dump"
        subprocess.run([str(pg_dump), "-Fc", "-f", str(dump), "-d", url.replace("postgresql+psycopg", "postgresql")],
                       check=True, timeout=120)

    # wipe: the database dropped, the registry's rows gone
    influx.execute(f'DROP DATABASE "{db}"')
    with engine.begin() as conn:
        for table in ("meters", "gateways", "consents", "enterprises"):
            conn.execute(text(f'DELETE FROM "{table}"'))
    assert rows(engine)["meters"] == []
    with pytest.raises(InfluxError, match="database not found"):
        influx.query('SELECT count("energy_kwh") FROM "reading"')
    engine.dispose()

    # restore
    influxd(services, "restore", "-portable", "-db", db, str(tmp_path / "influx-backup"))
    if registry == "sqlite":
        subprocess.run(["sqlite3", database, f".restore '{dump}'"], check=True, timeout=60)
    else:
        pg_restore = pg_bin_dir() / "pg_restore"
        subprocess.run([str(pg_restore), "--clean", "--if-exists", "-d",
                        url.replace("postgresql+psycopg", "postgresql"), str(dump)], check=True, timeout=120)
    restored = create_engine(url)
    try:
        assert rows(restored) == before_rows
        assert figures(influx, restored, day) == before_figures
    finally:
        restored.dispose()
        influx.execute(f'DROP DATABASE "{db}"')
        if registry == "postgres":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()
