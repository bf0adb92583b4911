"""The rollup's side of the ingest marks (core/marks.py): what is new since the last run, and the cursor.

The cursor is one `rollup_cursor` point per scope (tag `scope`: `all`, or the enterprise a `rollup
--enterprise` run is limited to; time 0; one integer field per writer: the newest mark time consumed, epoch
ns). A run reads, per writer, the marks after its cursor (one request for all writers), recomputes, and only
then advances the cursor (`advance`): a run that fails or is killed midway reads the same marks again next
time. With nothing new, a run costs one `SHOW TAG VALUES`, one cursor read and one empty query.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Final

from core.influx import InfluxV1, line, quote_ident, quote_literal
from core.marks import HOUR_S, mark_source, parse_hours
from core.measurements import ROLLUP_CURSOR

ALL: Final = "all"
"""The scope of a run over the whole registry."""

WRITERS_PER_QUERY: Final = 50
"""Writers whose new marks one request asks for (statements joined by `;`)."""


@dataclass
class NewMarks:
    """The marks after the cursor: dirty epoch hours per enterprise, and the cursor to store once they are done."""

    hours: dict[str, set[int]] = field(default_factory=dict)
    through: dict[str, int] = field(default_factory=dict)  # writer -> newest mark time read (epoch ns)
    marks: int = 0
    malformed: int = 0


def writers(influx: InfluxV1) -> list[str]:
    """Every writer that has marks (`SHOW TAG VALUES`, a meta query: the index, not the points)."""
    q = f"SHOW TAG VALUES FROM {mark_source(influx.raw_rp)} WITH KEY = \"writer\""
    answer = influx.query(q) if influx.raw_rp is None else influx.query(q, rp=influx.raw_rp)
    return sorted({str(r["value"]) for s in answer for r in s.records()})


def read_cursor(influx: InfluxV1, scope: str = ALL) -> dict[str, int]:
    """Per writer, the newest mark time (epoch ns) a finished run of `scope` consumed."""
    out: dict[str, int] = {}
    q = f"SELECT * FROM {quote_ident(ROLLUP_CURSOR)} WHERE \"scope\" = {quote_literal(scope)}"
    for series in influx.query(q, epoch="ns"):
        for row in series.records():
            out.update({k: int(v) for k, v in row.items() if k not in ("time", "scope") and v is not None})
    return out


def read_new_marks(influx: InfluxV1, cursor: dict[str, int]) -> NewMarks:
    """The marks of every writer after its cursor (all of them for a writer the cursor does not know)."""
    out = NewMarks()
    hours: dict[str, set[int]] = defaultdict(set)
    names = writers(influx)
    for i in range(0, len(names), WRITERS_PER_QUERY):
        statements = [
            f"SELECT \"enterprise\", \"hours\" FROM {mark_source(influx.raw_rp)} WHERE \"writer\" = "
            f"{quote_literal(w)} AND time > {cursor.get(w, 0)} GROUP BY \"writer\""
            for w in names[i:i + WRITERS_PER_QUERY]
        ]
        for series in influx.query("; ".join(statements), epoch="ns"):
            writer = series.tags.get("writer", "")
            for row in series.records():
                out.marks += 1
                out.through[writer] = max(out.through.get(writer, 0), int(row["time"]))
                try:
                    ranges = parse_hours(str(row.get("hours") or ""))
                except ValueError:
                    out.malformed += 1
                    continue
                target = hours[str(row.get("enterprise") or "")]
                for lo, hi in ranges:
                    target.update(range(lo, hi + 1))
    out.hours = {code: hs for code, hs in hours.items() if code and hs}
    return out


def advance(influx: InfluxV1, through: dict[str, int], scope: str = ALL) -> None:
    """Store the cursor after a successful run (fields of the one point merge: other writers keep theirs)."""
    if through:
        influx.write(line(ROLLUP_CURSOR, {"scope": scope}, dict(sorted(through.items()))) + " 0",
                     precision="ns")


def dirty_ranges(hours: set[int], merge_gap_h: int) -> list[tuple[int, int]]:
    """Epoch hours as [start, end) epoch-second spans; spans closer than `merge_gap_h` hours are joined."""
    out: list[tuple[int, int]] = []
    for h in sorted(hours):
        lo, hi = h * HOUR_S, (h + 1) * HOUR_S
        if out and lo - out[-1][1] <= merge_gap_h * HOUR_S:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


__all__ = ["ALL", "NewMarks", "advance", "dirty_ranges", "read_cursor",
           "read_new_marks", "writers"]
