"""The domain vocabulary every service shares: quantities on the wire, carriers, meter roles.

Mirrors CONTRACTS.md sections 2 and 7; the tables there are binding, this module is their code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

ID_PATTERN: Final = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
"""Gateway and meter ids (CONTRACTS.md section 1)."""

DEFAULT_TIMEZONE: Final = "Asia/Shanghai"


class QuantityKind(StrEnum):
    COUNTER = "counter"  # cumulative register: consumption is the difference
    GAUGE = "gauge"  # instantaneous value


@dataclass(frozen=True, slots=True)
class Quantity:
    key: str
    unit: str
    kind: QuantityKind
    meaning: str
    carrier: str | None = None  # the carrier a counter measures, if it is energy or output
    min_value: float | None = None
    max_value: float | None = None


_C, _G = QuantityKind.COUNTER, QuantityKind.GAUGE

QUANTITIES: Final[dict[str, Quantity]] = {
    q.key: q
    for q in (
        Quantity("energy_kwh", "kWh", _C, "imported active energy", "electricity", 0.0),
        Quantity("export_kwh", "kWh", _C, "exported active energy", "electricity_export", 0.0),
        Quantity("reactive_kvarh", "kvarh", _C, "reactive energy", None, 0.0),
        Quantity("power_kw", "kW", _G, "active power"),
        Quantity("pf", "1", _G, "power factor", None, 0.0, 1.0),
        Quantity("pv_kwh", "kWh", _C, "on-site photovoltaic generation", "pv", 0.0),
        Quantity("gas_m3", "m3", _C, "natural gas (standard m3)", "natural_gas", 0.0),
        Quantity("steam_t", "t", _C, "steam", "steam", 0.0),
        Quantity("heat_gj", "GJ", _C, "purchased heat", "heat", 0.0),
        Quantity("water_m3", "m3", _C, "water", "water", 0.0),
        Quantity("coal_t", "t", _C, "raw coal", "coal", 0.0),
        Quantity("diesel_t", "t", _C, "diesel", "diesel", 0.0),
        Quantity("output_t", "t", _C, "production output of the meter's product", "output", 0.0),
        Quantity("temp_c", "degC", _G, "temperature"),
        Quantity("current_a", "A", _G, "phase current (highest phase)", None, 0.0),
        Quantity("voltage_v", "V", _G, "phase voltage", None, 0.0),
        Quantity("leakage_ma", "mA", _G, "residual (leakage) current", None, 0.0),
    )
}
"""Every quantity a reading may carry (CONTRACTS.md section 2)."""

COUNTER_KEYS: Final = frozenset(k for k, q in QUANTITIES.items() if q.kind is QuantityKind.COUNTER)
GAUGE_KEYS: Final = frozenset(k for k, q in QUANTITIES.items() if q.kind is QuantityKind.GAUGE)


class Carrier(StrEnum):
    """Meter carriers of the registry file (CONTRACTS.md section 7)."""

    ELECTRICITY = "electricity"
    NATURAL_GAS = "natural_gas"
    STEAM = "steam"
    HEAT = "heat"
    WATER = "water"
    COAL = "coal"
    DIESEL = "diesel"
    OUTPUT = "output"
    TEMPERATURE = "temperature"


class MeterRole(StrEnum):
    MAIN = "main"
    SUB = "sub"
    PV = "pv"
    PROCESS = "process"
    WAREHOUSE = "warehouse"
    SAFETY = "safety"


CARRIER_UNITS: Final[dict[Carrier, str]] = {
    Carrier.ELECTRICITY: "kWh",
    Carrier.NATURAL_GAS: "m3",
    Carrier.STEAM: "t",
    Carrier.HEAT: "GJ",
    Carrier.WATER: "m3",
    Carrier.COAL: "t",
    Carrier.DIESEL: "t",
    Carrier.OUTPUT: "t",
    Carrier.TEMPERATURE: "degC",
}
"""The unit a carrier's consumption is reported in (the units of section 2)."""

CARRIER_COUNTER: Final[dict[Carrier, str]] = {
    Carrier.ELECTRICITY: "energy_kwh",
    Carrier.NATURAL_GAS: "gas_m3",
    Carrier.STEAM: "steam_t",
    Carrier.HEAT: "heat_gj",
    Carrier.WATER: "water_m3",
    Carrier.COAL: "coal_t",
    Carrier.DIESEL: "diesel_t",
    Carrier.OUTPUT: "output_t",
}
"""The counter quantity that measures each carrier's consumption."""

TELEMETRY_TOPIC: Final = "em/v1/{enterprise}/{gateway}/telemetry"
STATUS_TOPIC: Final = "em/v1/{enterprise}/{gateway}/status"
TELEMETRY_SUBSCRIPTION: Final = "em/v1/+/+/telemetry"
MAX_PAYLOAD_BYTES: Final = 256 * 1024
MAX_READINGS_PER_MESSAGE: Final = 1000
MAX_FUTURE_SECONDS: Final = 300
DEADLETTER_PAYLOAD_BYTES: Final = 4 * 1024
