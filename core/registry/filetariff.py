"""Registry file → an enterprise's own electricity tariff, as read from its electricity bill (`tariff:` block).

The block is kept as plain JSON-ready data (`Enterprise.tariff`); analytics/billing.py prices with it. Every key
is checked here so a bad bill transcription is refused with its line, before anything is written.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from core.domain import Carrier
from core.reference.tariff import COMPONENTS
from core.registry.filecheck import MISSING, Checker, choice, key_line, number, text
from core.registry.yamlnodes import Located

TARIFF_KEYS = {"source", "voltage_class", "tou_edition", "energy_prices", "components", "basic_charge",
               "pf_standard", "fuel_prices"}
BASIC_KEYS = {"basis", "capacity_cny_per_kva_month", "demand_cny_per_kw_month", "contract_demand_kw"}
VOLTAGE_CLASSES = ("<1kV", "1-10kV", "20kV", "35kV", "66kV", "110kV", "220kV+")
"""Voltage classes of the Shanxi tariff tables (不满1千伏, 1-10千伏, 20千伏, 35千伏, 66千伏, 110千伏, 220千伏及以上)."""
PERIODS = ("critical_peak", "peak", "flat", "valley", "deep_valley")
PF_STANDARDS = (0.90, 0.85, 0.80)
"""Standards of 《功率因数调整电费办法》 (83)水电财字第215号."""
NO_TOU, AUTO_TOU = "none", "auto"
FUEL_CARRIERS = tuple(c.value for c in Carrier if c not in (Carrier.ELECTRICITY, Carrier.OUTPUT, Carrier.TEMPERATURE))


@lru_cache(maxsize=1)
def tou_edition_keys() -> frozenset[str] | None:
    """Edition keys of the packaged Shanxi tariff reference (None when it cannot be read)."""
    try:
        data = yaml.safe_load(
            resources.files("core.reference").joinpath("data/tariffs_shanxi.yaml").read_text(encoding="utf-8"))
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return None
    editions = data.get("editions") if isinstance(data, dict) else None
    return frozenset(editions) if isinstance(editions, dict) else None


def _prices(check: Checker, node: Located, where: str, keys: tuple[str, ...]) -> dict[str, float] | None:
    """A mapping of names to positive CNY/kWh prices (None when absent or invalid)."""
    if node.value is None:
        return None
    if not check.mapping(node, where, set(keys), ()):
        return None
    out = {k: check.get(node, k, where, number(True)) for k in node.value}
    if any(v is MISSING or v is None for v in out.values()):
        return None
    return out


def read_tariff(check: Checker, ent_node: Located, ent_where: str) -> dict[str, Any] | None:
    """The enterprise's `tariff:` block as plain data, or None when absent; problems go to `check`."""
    node = ent_node.value.get("tariff") if isinstance(ent_node.value, dict) else None
    if node is None or node.value is None:
        return None
    where = f"{ent_where}.tariff"
    if not check.mapping(node, where, TARIFF_KEYS, ("voltage_class",)):
        return None
    out: dict[str, Any] = {
        "source": check.get(node, "source", where, text),
        "voltage_class": check.get(node, "voltage_class", where, choice(VOLTAGE_CLASSES)),
        "tou_edition": check.get(node, "tou_edition", where, _edition, AUTO_TOU),
        "pf_standard": check.get(node, "pf_standard", where, _pf_standard, 0.90),
    }
    energy = node.value.get("energy_prices")
    components = node.value.get("components")
    out["energy_prices"] = None if energy is None else _prices(check, energy, f"{where}.energy_prices", PERIODS)
    out["components"] = None if components is None else _prices(check, components, f"{where}.components",
                                                                 COMPONENTS)
    if (energy is None) == (components is None):
        check.error(node.line, where, "give the bill's energy_prices per period or its price components, one of them")
    if out["energy_prices"] is not None:
        prices = out["energy_prices"]
        if "flat" not in prices:
            check.error(key_line(node, "energy_prices"), f"{where}.energy_prices.flat", "required key missing")
        elif out["tou_edition"] != NO_TOU and not {"peak", "valley"} <= set(prices):
            check.error(key_line(node, "energy_prices"), f"{where}.energy_prices",
                        "a time-of-use tariff needs peak, flat and valley prices (or set tou_edition: none)")
        elif out["tou_edition"] == NO_TOU and set(prices) != {"flat"}:
            check.error(key_line(node, "energy_prices"), f"{where}.energy_prices",
                        "without a time-of-use edition give only the flat price")
        elif "peak" in prices and not prices["valley"] < prices["flat"] < prices["peak"]:
            check.error(key_line(node, "energy_prices"), f"{where}.energy_prices",
                        "prices must satisfy valley < flat < peak")
    if out["components"] is not None and "energy" not in out["components"]:
        check.error(key_line(node, "components"), f"{where}.components.energy", "required key missing")
    out["basic_charge"] = _basic(check, node.value.get("basic_charge"), f"{where}.basic_charge")
    fuels = node.value.get("fuel_prices")
    out["fuel_prices"] = {} if fuels is None else (_prices(check, fuels, f"{where}.fuel_prices", FUEL_CARRIERS) or {})
    return None if any(v is MISSING for v in out.values()) else out


def _edition(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be '{AUTO_TOU}', '{NO_TOU}' or a TOU edition key, got {value!r}")
    keys = tou_edition_keys()
    if value in (AUTO_TOU, NO_TOU) or keys is None or value in keys:
        return value
    raise ValueError(f"{value!r} is not '{AUTO_TOU}', '{NO_TOU}' or an edition of the tariff reference "
                     f"({', '.join(sorted(keys))})")


def _pf_standard(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) not in PF_STANDARDS:
        raise ValueError(f"{value!r} is not one of the power-factor standards 0.90, 0.85, 0.80")
    return float(value)


def _basic(check: Checker, node: Located | None, where: str) -> dict[str, Any] | None:
    """Two-part tariff basic charge: the basis the bill uses and its rate(s); None for a single-part tariff."""
    if node is None or node.value is None:
        return None
    if not check.mapping(node, where, BASIC_KEYS, ("basis",)):
        return None
    out = {
        "basis": check.get(node, "basis", where, choice(("capacity", "demand"))),
        "capacity_cny_per_kva_month": check.get(node, "capacity_cny_per_kva_month", where, number(True)),
        "demand_cny_per_kw_month": check.get(node, "demand_cny_per_kw_month", where, number(True)),
        "contract_demand_kw": check.get(node, "contract_demand_kw", where, number(True)),
    }
    rate = {"capacity": "capacity_cny_per_kva_month", "demand": "demand_cny_per_kw_month"}.get(out["basis"])
    if rate is not None and out[rate] is None:
        check.error(node.line, f"{where}.{rate}", f"required for basis {out['basis']} (the rate on the bill)")
    if out["contract_demand_kw"] is not None and out["basis"] != "demand":
        check.error(key_line(node, "contract_demand_kw"), f"{where}.contract_demand_kw", "only for basis demand")
    return None if any(v is MISSING for v in out.values()) else out
