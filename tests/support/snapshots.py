"""Registry snapshots for parsing tests that are not about which meters are registered."""

from __future__ import annotations

from dataclasses import dataclass

from collector.registry_view import RegistrySnapshot


@dataclass(frozen=True)
class AnyMeterSnapshot(RegistrySnapshot):
    """Enterprises and gateways checked as usual; every well-formed meter id counts as registered."""

    def meters(self, enterprise: str) -> frozenset[str] | None:
        return None
