"""Two real scheduler replicas on one real registry (SQLite file, PostgreSQL): no slot runs twice, no run of a
job overlaps another, and both replicas compete for every slot."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.registry.db import dispose_engines

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SECONDS = 14.0


def run_replicas(url: str, log: Path) -> list[list[dict[str, object]]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.support.scheduler_probe", url, str(log), str(SECONDS)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=SECONDS + 120)
        assert proc.returncode == 0, err[-3000:]
        outs.append([json.loads(line) for line in out.splitlines() if line.startswith("{")])
    return outs


def check(log: Path, outcomes: list[list[dict[str, object]]]) -> dict[str, int]:
    runs: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for line in log.read_text().splitlines():
        kind, job, slot, pid, at = line.split()
        run = runs[job].setdefault(f"{slot}:{pid}", {"slot": float(slot)})
        run[kind] = float(at)
    counts = {}
    for job, by_run in runs.items():
        done = sorted(by_run.values(), key=lambda r: r["start"])
        slots = [r["slot"] for r in done]
        assert len(slots) == len(set(slots)), f"{job}: a slot ran twice: {slots}"
        for earlier, later in itertools.pairwise(done):
            assert "end" in earlier, f"{job}: a run never ended"
            assert later["start"] >= earlier["end"], f"{job}: runs overlap: {earlier} {later}"
        counts[job] = len(done)
    ran = {(o["job"], o["slot"]): i for i, replica in enumerate(outcomes) for o in replica if o["ran"]}
    skipped = {(o["job"], o["slot"]) for replica in outcomes for o in replica if not o["ran"] and not o["error"]}
    assert sum(counts.values()) == len(ran) == sum(1 for replica in outcomes for o in replica if o["ran"])
    contested = [key for key in ran if key in skipped]
    assert len(contested) >= len(ran) // 2, (ran, skipped)  # the other replica tried the same slot and lost
    return counts


def test_two_replicas_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    log = tmp_path / "runs.log"
    counts = check(log, run_replicas(url, log))
    assert counts["short"] >= 5  # one run per 2 s slot over ~14 s
    assert 2 <= counts["long"] <= 5  # 3 s runs: the slots that fall inside a run are never started
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT job, runs FROM scheduler_jobs")).all())
    assert rows == counts


def test_two_replicas_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    name = f"sched_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    log = tmp_path / "runs.log"
    try:
        counts = check(log, run_replicas(url, log))
        assert counts["short"] >= 5 and 2 <= counts["long"] <= 5
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT job, runs FROM scheduler_jobs")).all())
        engine.dispose()
        assert rows == counts
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
