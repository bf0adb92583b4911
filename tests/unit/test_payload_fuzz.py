"""Hostile payloads never raise out of the parser, and what it stores is always valid line protocol."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.payload import Reason, parse_status, parse_telemetry
from core.telemetry import Topic
from tests.support.snapshots import AnyMeterSnapshot

ENT = "91330100MA27XL0E2K"
TOPIC = Topic(ENT, "gw1", "telemetry")
SNAP = AnyMeterSnapshot({ENT: "Asia/Shanghai"}, frozenset({(ENT, "gw1")}))
NOW = 1_764_547_500.0
CORPUS = sorted((Path(__file__).parent.parent / "data" / "fuzz").iterdir())
LINE = re.compile(
    rf"reading,enterprise={ENT},gateway=[A-Za-z0-9_-]{{1,64}},meter=[A-Za-z0-9_-]{{1,64}} "
    r"[a-z_]+=[-+0-9.e]+(,[a-z_]+=[-+0-9.e]+)* [0-9]+"
)


def check(payload: bytes) -> None:
    out = parse_telemetry(TOPIC, payload, SNAP, NOW)
    for text in out.lines:
        assert LINE.fullmatch(text), text
    for reject in out.rejects:
        assert reject.reason and isinstance(reject.detail, str)
        reject.detail.encode("utf-8")  # storable: no lone surrogates
    parse_status(payload)


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_never_raises(path: Path) -> None:
    check(path.read_bytes())


def test_corpus_expectations() -> None:
    def reasons(name: str) -> list[str]:
        out = parse_telemetry(TOPIC, (CORPUS[0].parent / name).read_bytes(), SNAP, NOW)
        return [r.reason for r in out.rejects]

    assert reasons("deep_nesting_arrays.json") == [Reason.NOT_JSON]
    assert reasons("invalid_utf8.json") == [Reason.NOT_JSON]
    assert reasons("lone_surrogate.json") == [Reason.BAD_METER]
    assert reasons("line_protocol_injection.json") == [Reason.BAD_METER] * 3 + [Reason.UNKNOWN_QUANTITY]
    assert reasons("bad_timestamps.json").count(Reason.BAD_TIMESTAMP) == 10
    assert reasons("wrong_types.json").count(Reason.READING_NOT_OBJECT) == 4


def test_ten_megabyte_string_is_refused_by_size() -> None:
    payload = b'{"readings":[{"meter":"' + b"M" * 10_000_000 + b'","values":{"pf":1}}]}'
    out = parse_telemetry(TOPIC, payload, SNAP, NOW)
    assert [r.reason for r in out.rejects] == [Reason.TOO_LARGE]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
reading_like = st.fixed_dictionaries(
    {},
    optional={
        "meter": st.one_of(st.text(max_size=70), st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"), json_values),
        "ts": st.one_of(st.integers(), st.floats(), st.text(max_size=40), json_values),
        "values": st.one_of(
            st.dictionaries(st.sampled_from(["energy_kwh", "pf", "power_kw", "bogus"]),
                            st.one_of(st.floats(), st.integers(), json_values), max_size=4),
            json_values,
        ),
    },
)


@given(st.fixed_dictionaries({}, optional={"ts": json_values, "readings": st.lists(reading_like, max_size=5)}))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_structured_garbage_never_raises(doc: dict) -> None:
    try:
        payload = orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return
    check(payload)
    out = parse_telemetry(TOPIC, payload, SNAP, NOW)
    n = len(doc.get("readings", [])) if isinstance(doc.get("readings"), list) else 0
    if not out.rejected_whole:
        assert len(out.lines) + len(out.rejects) == n  # every reading is stored or dead-lettered


@given(st.binary(max_size=2000))
@settings(max_examples=400, deadline=None)
def test_random_bytes_never_raise(payload: bytes) -> None:
    check(payload)
