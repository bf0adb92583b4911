"""Which meters the safety rules watch and with what thresholds: the registry's `safety` meters (rated
current, enterprise time zone) merged with the city's override file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from analytics.safety.thresholds import RuleSet, Thresholds, load_rules
from core.domain import DEFAULT_TIMEZONE, MeterRole

RULES_ENV = "ENERDIAG_SAFETY_RULES"
RULES_FILENAME = "safety_rules.yaml"


def rules_path(explicit: Path | None, data_dir: Path) -> Path | None:
    """The override file in force: the option, else $ENERDIAG_SAFETY_RULES, else data_dir/safety_rules.yaml."""
    if explicit is not None:
        return explicit
    env = os.environ.get(RULES_ENV)
    if env:
        return Path(env)
    local = data_dir / RULES_FILENAME
    return local if local.exists() else None


def load_ruleset(path: Path | None) -> RuleSet:
    return load_rules(path) if path is not None else RuleSet()


@dataclass(frozen=True)
class SafetyContext:
    """A snapshot: safety meters with their rated current, other meters, enterprise time zones and the rules.

    `all_meters` (development) watches every meter that sends safety quantities, with default thresholds.
    """

    rules: RuleSet = field(default_factory=RuleSet)
    safety_meters: dict[tuple[str, str], float | None] = field(default_factory=dict)
    timezones: dict[str, str] = field(default_factory=dict)
    all_meters: bool = False

    def __call__(self, enterprise: str, meter: str) -> tuple[Thresholds, str] | None:
        tz = self.timezones.get(enterprise, DEFAULT_TIMEZONE)
        key = (enterprise, meter)
        if key in self.safety_meters:
            return self.rules.for_meter(enterprise, meter, self.safety_meters[key]), tz
        t = self.rules.for_meter(enterprise, meter)
        if self.all_meters or (key in self.rules.meters and (t.closed_hours or t.closed_weekdays)):
            return t, tz  # a non-safety meter the city configured for night-time load
        return None


def load_context(rules: RuleSet, registry_url: str | None = None, all_meters: bool = False) -> SafetyContext:
    """Read the registry's safety meters and time zones (SQLAlchemy URL, default from settings)."""
    from sqlalchemy import select

    from core.registry.db import session_scope
    from core.registry.models import Enterprise, Meter

    with session_scope(registry_url) as session:
        rows = session.execute(select(Enterprise.code, Enterprise.timezone))
        timezones = {code: tz or DEFAULT_TIMEZONE for code, tz in rows}
        meters = {
            (e, m): rated
            for e, m, rated in session.execute(
                select(Meter.enterprise_code, Meter.meter_id, Meter.rated_current_a).where(
                    Meter.role == MeterRole.SAFETY.value
                )
            )
        }
    return SafetyContext(rules, meters, timezones, all_meters)
