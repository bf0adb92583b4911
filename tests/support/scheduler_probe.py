"""One real scheduler replica with probe jobs, for tests/integration/test_scheduler_replicas.py.

    python -m tests.support.scheduler_probe DB_URL LOG SECONDS

Runs `enerdiag.scheduler.service.run_forever` on the registry at DB_URL for SECONDS with two jobs: `short`
(every 2 s, runs 1 s) and `long` (every 2 s, runs 3 s: longer than its period). Each run is a shell child that
appends `start|end JOB SLOT PID EPOCH` to LOG; every attempt (ran or skipped) is printed as a JSON line.
"""

from __future__ import annotations

import json
import sys
import threading

from core.registry.db import init_db
from enerdiag.scheduler import service
from enerdiag.scheduler.jobs import JobSpec
from enerdiag.scheduler.runner import JobRunner, Outcome

CHILD = ('echo "start $ENERDIAG_JOB $ENERDIAG_JOB_SLOT $$ $(date +%s.%N)" >> "$1"; sleep "$2"; '
         'echo "end $ENERDIAG_JOB $ENERDIAG_JOB_SLOT $$ $(date +%s.%N)" >> "$1"')


def specs(log: str) -> list[JobSpec]:
    def run(seconds: float) -> list[list[str]]:
        return [["sh", "-c", CHILD, "probe", log, str(seconds)]]

    return [JobSpec("short", 2, 30, lambda: run(1.0)), JobSpec("long", 2, 30, lambda: run(3.0))]


def main() -> None:
    url, log, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    lock = threading.Lock()

    def said(outcome: Outcome) -> None:
        with lock:
            print(json.dumps(outcome.to_json()), flush=True)

    runner = JobRunner(init_db(url), None, lease_s=5.0, renew_s=1.0, on_outcome=said)
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    service.run_forever(runner, specs(log), "127.0.0.1", None, stop=stop)


if __name__ == "__main__":
    main()
