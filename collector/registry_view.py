"""The collector's view of the registry: a frozen snapshot, rebuilt periodically from SQL.

Everything else in the collector sees only `RegistrySnapshot`, so it is testable with a plain
object and never blocks on the registry database in the message path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from collector.payload import Reason, Resolver
from core.domain import DEFAULT_TIMEZONE
from core.telemetry import Topic


@lru_cache(maxsize=4096)
def _valid_code(code: str) -> bool:
    from core.registry.creditcode import is_valid_credit_code

    return is_valid_credit_code(code)


@dataclass(frozen=True)
class RegistrySnapshot(Resolver):
    """Enterprises (→ time zone), their gateways, each registered meter's gateway, and the registered meter ids.

    `open_mode` (development and benchmarks only) accepts any valid credit code, gateway and meter.
    `meter_ids` (enterprise → its meter ids, one set lookup per reading) defaults to the meters of
    `meter_gateways`; `load_snapshot` also lists the meters that have no gateway.
    """

    timezones: dict[str, str] = field(default_factory=dict)
    gateways: frozenset[tuple[str, str]] = frozenset()
    meter_gateways: dict[tuple[str, str], str] = field(default_factory=dict)
    open_mode: bool = False
    meter_ids: dict[str, frozenset[str]] | None = None

    def __post_init__(self) -> None:
        if self.meter_ids is None:
            object.__setattr__(self, "meter_ids", meter_sets(self.meter_gateways))

    def check(self, topic: Topic) -> tuple[str, str] | None:
        """None when topic and registry agree, else the dead-letter (reason, detail)."""
        if self.open_mode:
            if _valid_code(topic.enterprise):
                return None
            return (Reason.UNKNOWN_ENTERPRISE, f"{topic.enterprise} is not a valid credit code")
        if topic.enterprise not in self.timezones:
            return (Reason.UNKNOWN_ENTERPRISE, f"enterprise {topic.enterprise} is not in the registry")
        if (topic.enterprise, topic.gateway) not in self.gateways:
            return (
                Reason.UNKNOWN_GATEWAY,
                f"gateway {topic.gateway} is not registered for enterprise {topic.enterprise}",
            )
        return None

    def timezone(self, enterprise: str) -> str:
        """The enterprise's IANA time zone (naive timestamps are read in it)."""
        return self.timezones.get(enterprise, DEFAULT_TIMEZONE)

    def meters(self, enterprise: str) -> frozenset[str] | None:
        """The enterprise's registered meter ids (None in open mode: any meter is accepted)."""
        if self.open_mode:
            return None
        return self.meter_ids.get(enterprise, _NO_METERS)  # type: ignore[union-attr]

    def series_gateway(self, enterprise: str, meter: str, gateway: str) -> str:
        """The `gateway` tag of a meter's series: its registered gateway, else the one that sent it.

        Fixing the tag by the registry keeps (enterprise, meter, time) one series point even when a
        reading arrives through a replacement or failover gateway.
        """
        return self.meter_gateways.get((enterprise, meter), gateway)

    @property
    def size(self) -> tuple[int, int, int]:
        """(enterprises, gateways, meters) in the snapshot."""
        return len(self.timezones), len(self.gateways), sum(map(len, self.meter_ids.values()))  # type: ignore[union-attr]


_NO_METERS: frozenset[str] = frozenset()


def meter_sets(meters: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """enterprise → frozenset of its meter ids, from (enterprise, meter) pairs."""
    by_enterprise: dict[str, set[str]] = {}
    for enterprise, meter in meters:
        by_enterprise.setdefault(enterprise, set()).add(meter)
    return {enterprise: frozenset(ids) for enterprise, ids in by_enterprise.items()}


def load_snapshot(url: str | None = None) -> RegistrySnapshot:
    """Read the registry (SQLAlchemy URL, default from settings) into a snapshot."""
    from sqlalchemy import select

    from core.registry.db import session_scope
    from core.registry.models import Enterprise, Gateway, Meter

    with session_scope(url) as session:
        timezones = {code: tz or DEFAULT_TIMEZONE for code, tz in session.execute(
            select(Enterprise.code, Enterprise.timezone))}
        gateways = frozenset(
            (e, g) for e, g in session.execute(select(Gateway.enterprise_code, Gateway.gateway_id))
        )
        rows = session.execute(select(Meter.enterprise_code, Meter.meter_id, Meter.gateway_id)).all()
    meters = {(e, m): g for e, m, g in rows if g}
    return RegistrySnapshot(timezones, gateways, meters, meter_ids=meter_sets((e, m) for e, m, _ in rows))
