"""The registry YAML of a simulated city, in the format of CONTRACTS.md section 7."""

from __future__ import annotations

from typing import Any

import yaml

from core.domain import DEFAULT_TIMEZONE, Carrier, MeterRole
from simulators.industries import COLD_STORE_BAND_C
from simulators.plant import PlantSpec


def enterprise_entry(spec: PlantSpec) -> dict[str, Any]:
    """One enterprise with its gateway and meters."""
    meters = []
    for m in spec.meters:
        entry: dict[str, Any] = {
            "id": m.id,
            "carrier": str(m.carrier),
            "role": str(m.role),
            "multiplier": 1,
            "name": m.name,
            "gateway": spec.gateway,
        }
        if m.product:
            entry["product"] = m.product
        if m.carrier is Carrier.TEMPERATURE:
            entry["temp_min_c"], entry["temp_max_c"] = COLD_STORE_BAND_C
        if m.role is MeterRole.SAFETY:
            entry["rated_current_a"] = spec.rated_current_a
        meters.append(entry)
    return {
        "code": spec.code,
        "name": spec.name,
        "industry": spec.industry.gbt4754,
        "county": spec.county,
        "timezone": DEFAULT_TIMEZONE,
        "product": spec.industry.product,
        "contracted_capacity_kva": spec.contracted_kva,
        "gateways": [{"id": spec.gateway, "password": spec.password}],
        "meters": meters,
    }


PRODUCTS: dict[str, str] = {
    "meat_products": "肉制品 (meat products)",
    "machined_parts": "机械零部件 (machined parts)",
    "cold_storage": "冷库出入库量 (cold-store throughput)",
}
"""Products without a quota standard that simulated plants make; declared under `products:`."""


def registry_document(plants: list[PlantSpec]) -> dict[str, Any]:
    """The registry file's content for the whole city (no banks or consents: those are the operator's)."""
    used = {p.industry.product for p in plants}
    products = [{"key": k, "name": name, "unit": "t"} for k, name in PRODUCTS.items() if k in used]
    doc: dict[str, Any] = {"products": products} if products else {}
    doc["enterprises"] = [enterprise_entry(p) for p in plants]
    return doc


def dump(doc: dict[str, Any]) -> str:
    """YAML text, Chinese kept readable, keys in the contract's order."""
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120)


def replay_registry(
    code: str, name: str, industry: str, county: str, gateway: str, password: str | None, meter: str
) -> dict[str, Any]:
    """A registry file with one enterprise, gateway and main electricity meter, for `simulate replay`."""
    gw: dict[str, Any] = {"id": gateway}
    if password:
        gw["password"] = password
    return {
        "enterprises": [
            {
                "code": code,
                "name": name,
                "industry": industry,
                "county": county,
                "timezone": DEFAULT_TIMEZONE,
                "gateways": [gw],
                "meters": [
                    {
                        "id": meter,
                        "carrier": "electricity",
                        "role": "main",
                        "multiplier": 1,
                        "name": "回放总表",
                        "gateway": gateway,
                    }
                ],
            }
        ]
    }
