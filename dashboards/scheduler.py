"""平台运行状态 · 定时任务: the scheduler's jobs (`scheduler_job`, written by enerdiag/scheduler/runner.py)."""

from __future__ import annotations

from core.measurements import SCHEDULER_JOB
from dashboards.model import Expect, Panel, Target


def scheduler_panels(top: int) -> tuple[Panel, ...]:
    """Last outcome and duration per job, run durations over time, and the failures with their errors."""
    return (
        Panel("table", "定时任务（最近一次运行）", "Per scheduler job (`enerdiag scheduler`): whether its last run in "
              "the last 7 days succeeded (ok 1/0), its duration in seconds and exit code. A job missing here has "
              "not run for 7 days; the scheduler's GET /health names overdue jobs.",
              (Target(f'SELECT last("ok") AS "ok", last("duration_s") AS "duration_s", last("exit_code") AS '
                      f'"exit_code" FROM "{SCHEDULER_JOB}" WHERE $timeFilter GROUP BY "job"',
                      Expect(("ok", "duration_s", "exit_code"), ("job",)), result_format="table"),),
              (0, top, 10, 8), time_from="7d", thresholds=((None, "red"), (1, "green")),
              options={"sortBy": [{"displayName": "ok", "desc": False}], "showHeader": True}),
        Panel("timeseries", "定时任务耗时", "Longest run per interval and job, seconds (scheduler_job duration_s).",
              (Target(f'SELECT max("duration_s") AS "duration_s" FROM "{SCHEDULER_JOB}" WHERE $timeFilter '
                      'GROUP BY time($__interval), "job" fill(none)',
                      Expect(("duration_s",), ("job",)), alias="$tag_job"),),
              (10, top, 14, 8), unit="s", interval="1m", time_from="24h",
              custom={"drawStyle": "points", "pointSize": 6}),
        Panel("table", "定时任务失败", "Failed runs in the time range, newest first: job, exit code and the error "
              "the job reported (its last `enerdiag:` line, a timeout or a lost lease).",
              (Target(f'SELECT "exit_code", "error" FROM "{SCHEDULER_JOB}" WHERE "ok" = 0 AND $timeFilter '
                      'GROUP BY "job" ORDER BY time DESC LIMIT 20',
                      Expect(("exit_code", "error"), ("job",)), result_format="table"),),
              (0, top + 8, 24, 6), time_from="7d"),
    )
