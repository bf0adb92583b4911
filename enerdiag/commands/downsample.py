"""`enerdiag downsample`: hourly gauge statistics kept when raw readings expire (analytics/downsample.py)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer

from enerdiag.errors import EXIT_BAD_INPUT, fail


def register(app: typer.Typer) -> None:
    """Attach `downsample` to the root app."""

    @app.command()
    def downsample(
        since: Annotated[str | None, typer.Option("--since", help="also redo from this UTC date (YYYY-MM-DD): "
                                                  "a backfill older than the lookback")] = None,
    ) -> None:
        """Write `reading_hourly` (mean/min/max/count of every gauge per meter and hour) for the closed hours of
        the last two days, back to the last downsampled hour after an outage (降采样, idempotent)."""
        from analytics.downsample import downsample as run
        from analytics.downsample import last_downsampled_hour, window
        from core.influx import InfluxError, InfluxV1

        since_s = None
        if since is not None:
            try:
                since_s = int(dt.datetime.combine(dt.date.fromisoformat(since), dt.time(), dt.UTC).timestamp())
            except ValueError:
                fail(f"--since {since!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)
        try:
            with InfluxV1.from_settings() as influx:
                start, end = window(int(time.time()), last_downsampled_hour(influx), since_s)
                report = run(influx, start, end)
        except InfluxError as exc:
            fail(str(exc))
        when = [dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M") for t in (start, end)]
        typer.echo(f"downsample: {report.points} reading_hourly point(s) for {when[0]}..{when[1]} UTC")
