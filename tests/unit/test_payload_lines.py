"""The collector's own line builder writes exactly what influxdb-client's `Point` writes."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.payload import format_float, parse_telemetry
from core.domain import QUANTITIES
from core.influx import line
from core.telemetry import Topic
from tests.support.snapshots import AnyMeterSnapshot

ENT = "91330100MA27XL0E2K"
SNAP = AnyMeterSnapshot({ENT: "Asia/Shanghai"}, frozenset({(ENT, "gw1")}))
ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")
finite = st.floats(allow_nan=False, allow_infinity=False)


def valid_value(key: str) -> st.SearchStrategy[float]:
    q = QUANTITIES[key]
    return st.floats(min_value=q.min_value, max_value=q.max_value, allow_nan=False, allow_infinity=False) | (
        st.integers(min_value=int(q.min_value or 0), max_value=int(q.max_value or 10**15))
    )


values_st = st.sets(st.sampled_from(sorted(QUANTITIES)), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({k: valid_value(k) for k in keys})
)


@given(gateway=ids, meter=ids, values=values_st, ts=st.integers(min_value=0, max_value=1_764_547_200))
@settings(max_examples=300, deadline=None)
def test_lines_equal_point_serialisation(gateway: str, meter: str, values: dict[str, float], ts: int) -> None:
    doc = {"readings": [{"meter": meter, "ts": ts, "values": values}]}
    out = parse_telemetry(Topic(ENT, gateway, "telemetry"), orjson.dumps(doc), SNAP, 1_764_547_200.0)
    assert out.rejects == []
    expected = line("reading", {"enterprise": ENT, "gateway": gateway, "meter": meter},
                    {k: float(v) for k, v in values.items()}, ts)
    assert out.lines == [expected]


@given(finite)
def test_format_float_round_trips(value: float) -> None:
    text = format_float(value)
    assert float(text) == value
