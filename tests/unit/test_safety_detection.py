"""Detection quality on a generated city of safety meters, and stream == batch."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.safety.alarms import detect
from analytics.safety.engine import SafetyEngine
from analytics.safety.thresholds import DEFAULTS, apply
from simulators.safety_faults import FAULT_KINDS, generate_city
from tests.support.safety_scoring import score


def run_batch(frames, meters, base=DEFAULTS):  # type: ignore[no-untyped-def]
    rated = {(m.enterprise, m.meter): m.rated_current_a for m in meters}
    alarms = []
    for key, frame in frames.items():
        alarms += detect(frame, apply(base, {"rated_current_a": rated[key]}), *key)
    return alarms


@pytest.mark.parametrize("seed", [11, 12])
def test_recall_and_precision_on_a_generated_city(seed: int) -> None:
    frames, truth, meters = generate_city(n_meters=50, hours=24, seed=seed)
    assert len(meters) == 50 and len(truth) >= 30
    assert {f.kind for f in truth} == set(FAULT_KINDS)
    q = score(run_batch(frames, meters), truth)
    assert q.recall >= 0.95, q
    assert q.precision >= 0.95, q


def test_healthy_meters_with_transients_raise_no_alarm() -> None:
    frames, truth, meters = generate_city(n_meters=50, hours=24, seed=5, max_faults_per_meter=0)
    assert truth == []
    assert run_batch(frames, meters) == []
    # the one-reading transients (inrush, surges, dips) are there: without debounce they would alarm
    assert len(run_batch(frames, meters, apply(DEFAULTS, {"open_readings": 1}))) >= 100


def test_precision_would_fail_without_debounce() -> None:
    frames, truth, meters = generate_city(n_meters=50, hours=24, seed=11)
    q = score(run_batch(frames, meters, apply(DEFAULTS, {"open_readings": 1})), truth)
    assert q.recall >= 0.95 and q.precision < 0.5, q


def test_generator_is_deterministic() -> None:
    a_frames, a_truth, _ = generate_city(n_meters=5, hours=6, seed=3)
    b_frames, b_truth, _ = generate_city(n_meters=5, hours=6, seed=3)
    assert a_truth == b_truth
    for key in a_frames:
        assert a_frames[key].equals(b_frames[key])


def test_streaming_engine_matches_batch() -> None:
    frames, _truth, meters = generate_city(n_meters=8, hours=12, seed=21)
    rated = {(m.enterprise, m.meter): m.rated_current_a for m in meters}
    batch = run_batch(frames, meters)
    engine = SafetyEngine(lambda e, m: (apply(DEFAULTS, {"rated_current_a": rated[(e, m)]}), "Asia/Shanghai"))
    closed = []
    for (code, meter), frame in frames.items():
        times = frame.index.as_unit("s").asi8
        records = frame.to_dict("records")
        for ts, values in zip(times, records, strict=True):
            closed += [e.alarm for e in engine.feed(code, meter, int(ts), values) if e.kind == "close"]
    stream = closed + engine.open_alarms()
    key = lambda a: (a.enterprise, a.meter, a.rule, a.start)  # noqa: E731
    assert len(batch) > 0
    assert sorted(map(key, stream)) == sorted(map(key, batch))
    by_id = {a.id: a for a in batch}
    for a in stream:
        assert a.end == by_id[a.id].end and a.severity == by_id[a.id].severity
        assert np.isclose(a.peak, by_id[a.id].peak)
