"""Registry file → validated specs: every problem found, each as 'FILE:LINE: field.path: why'."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from core.domain import CARRIER_UNITS, DEFAULT_TIMEZONE, Carrier, MeterRole
from core.registry.filecarbon import CarbonReader
from core.registry.filecheck import (
    MISSING,
    Checker,
    choice,
    credit_code,
    date_value,
    ident,
    industry_code,
    key_line,
    number,
    password_hash_value,
    password_value,
    product_key,
    scopes_value,
    text,
    timestamp,
    timezone_name,
)
from core.registry.fileorderly import read_orderly
from core.registry.fileretrofits import read_retrofits
from core.registry.fileshifts import read_shifts
from core.registry.filespec import (
    BANK_KEYS,
    CONSENT_KEYS,
    ENTERPRISE_KEYS,
    EVENT_KEYS,
    GATEWAY_KEYS,
    METER_KEYS,
    OUTPUT_UNITS,
    PRODUCT_KEYS,
    TOP_KEYS,
    BankSpec,
    ConsentSpec,
    EnterpriseSpec,
    EventSpec,
    GatewaySpec,
    MeterSpec,
    ProductSpec,
    RegistryFileError,
    RegistrySpec,
)
from core.registry.filetariff import read_tariff
from core.registry.models import (
    EVENT_KINDS,
)
from core.registry.yamlnodes import Located, YamlFileError, load_located

# ---------------------------------------------------------------- file → spec


def parse_registry(path: Path, known_quota_products: set[str] | None = None) -> RegistrySpec:
    """Read and validate a registry file; raise RegistryFileError listing every problem found."""
    spec, errors = parse_file(path, known_quota_products)
    if errors:
        raise RegistryFileError(errors)
    return spec


def parse_file(path: Path, known_quota_products: set[str] | None) -> tuple[RegistrySpec, list[str]]:
    try:
        root = load_located(path)
    except YamlFileError as exc:
        raise RegistryFileError([str(exc)]) from None
    check = Checker(path)
    check.known_quota = known_quota_products
    spec = RegistrySpec()
    if root is None:
        raise RegistryFileError([f"{path}:1: (file): empty file, expected keys {', '.join(sorted(TOP_KEYS))}"])
    if not check.mapping(root, "(top)", TOP_KEYS, ()) and not isinstance(root.value, dict):
        raise RegistryFileError(check.errors)
    declared_products = _read_products(check, root, spec)
    carbon = CarbonReader(check, spec)
    enterprise_codes = _read_enterprises(check, root, spec, declared_products, known_quota_products, carbon)
    carbon.top_level(root)
    bank_ids = _read_banks(check, root, spec)
    _read_consents(check, root, spec, enterprise_codes, bank_ids)
    return spec, check.errors


def _read_products(check: Checker, root: Located, spec: RegistrySpec) -> set[str]:
    seen: dict[str, int] = {}
    known = check.known_quota
    for i, node in enumerate(check.items(root.value.get("products"), "products")):
        where = f"products[{i}]"
        if not check.mapping(node, where, PRODUCT_KEYS, ("key",)):
            continue
        key = check.get(node, "key", where, product_key)
        if key is None or key is MISSING:
            continue
        if check.repeated(seen, key, node.line, f"{where}.key", f"product {key!r}"):
            continue
        quota = check.get(node, "quota", where, product_key)
        if isinstance(quota, str) and known is not None and quota not in known:
            check.error(node.value["quota"].line, f"{where}.quota", f"{quota!r} is not a quota product key")
        if quota is None and known is not None and key in known:
            quota = key
        spec.products.append(
            ProductSpec(
                key=key,
                name=check.get(node, "name", where, text),
                unit=check.get(node, "unit", where, choice(OUTPUT_UNITS), "t"),
                quota_key=quota,
            )
        )
    return set(seen)


def _check_product(
    check: Checker,
    node: Located,
    where: str,
    key: str | None,
    declared: set[str],
    known: set[str] | None,
    spec: RegistrySpec,
) -> None:
    if key is None or key is MISSING or key in declared:
        return
    if known is not None and key not in known:
        check.error(
            node.value["product"].line,
            f"{where}.product",
            f"product {key!r} is neither declared under products: nor a quota product key",
        )
        return
    spec.undeclared_products.add(key)


def _read_enterprises(
    check: Checker,
    root: Located,
    spec: RegistrySpec,
    declared_products: set[str],
    known_quota: set[str] | None,
    carbon: CarbonReader,
) -> set[str]:
    seen: dict[str, int] = {}
    for i, node in enumerate(check.items(root.value.get("enterprises"), "enterprises")):
        where = f"enterprises[{i}]"
        if not check.mapping(node, where, ENTERPRISE_KEYS, ("code", "name", "industry", "county")):
            continue
        code = check.get(node, "code", where, credit_code)
        if isinstance(code, str) and check.repeated(seen, code, node.line, f"{where}.code", f"enterprise {code}"):
            continue
        product = check.get(node, "product", where, product_key)
        _check_product(check, node, where, product, declared_products, known_quota, spec)
        ent = EnterpriseSpec(
            code=code,
            name=check.get(node, "name", where, text),
            industry=check.get(node, "industry", where, industry_code),
            county=check.get(node, "county", where, text),
            timezone=check.get(node, "timezone", where, timezone_name, DEFAULT_TIMEZONE),
            product=product,
            contracted_capacity_kva=check.get(node, "contracted_capacity_kva", where, number(True)),
            address=check.get(node, "address", where, text),
            gateways=_read_gateways(check, node, where),
            meters=[],
            tariff=read_tariff(check, node, where),
            shifts=read_shifts(check, node, where),
        )
        ent.orderly_priority, ent.security_kw = read_orderly(check, node, where)
        ent.meters = _read_meters(check, node, where, ent, declared_products, known_quota, spec)
        ent.retrofits = read_retrofits(check, node, where, ent.meters, ent.retrofit_banks)
        carbon.enterprise(node, where, code)
        carbon.site(node, where, ent)
        spec.enterprises.append(ent)
    return set(seen)


def _read_gateways(check: Checker, ent_node: Located, ent_where: str) -> list[GatewaySpec]:
    out: list[GatewaySpec] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(check.items(ent_node.value.get("gateways"), f"{ent_where}.gateways")):
        where = f"{ent_where}.gateways[{i}]"
        if not check.mapping(node, where, GATEWAY_KEYS, ("id",)):
            continue
        gid = check.get(node, "id", where, ident)
        if isinstance(gid, str) and check.repeated(seen, gid, node.line, f"{where}.id", f"gateway {gid!r}"):
            continue
        password = check.get(node, "password", where, password_value)
        password_hash = check.get(node, "password_hash", where, password_hash_value)
        if password is not None and password_hash is not None:
            check.error(node.line, where, "give either password or password_hash, not both")
        out.append(GatewaySpec(gid, password, password_hash, check.get(node, "description", where, text)))
    return out


def _read_meters(
    check: Checker,
    ent_node: Located,
    ent_where: str,
    ent: EnterpriseSpec,
    declared_products: set[str],
    known_quota: set[str] | None,
    spec: RegistrySpec,
) -> list[MeterSpec]:
    out: list[MeterSpec] = []
    seen: dict[str, int] = {}
    gateway_ids = [g.gateway_id for g in ent.gateways]
    parents: list[tuple[Located, str, str]] = []
    for i, node in enumerate(check.items(ent_node.value.get("meters"), f"{ent_where}.meters")):
        where = f"{ent_where}.meters[{i}]"
        if not check.mapping(node, where, METER_KEYS, ("id", "carrier", "role")):
            continue
        mid = check.get(node, "id", where, ident)
        if isinstance(mid, str) and check.repeated(seen, mid, node.line, f"{where}.id", f"meter {mid!r}"):
            continue
        carrier = check.get(node, "carrier", where, choice(tuple(c.value for c in Carrier)))
        role = check.get(node, "role", where, choice(tuple(r.value for r in MeterRole)))
        gateway = check.get(node, "gateway", where, ident)
        if gateway is None:
            if len(gateway_ids) == 1:
                gateway = gateway_ids[0]
            elif len(gateway_ids) > 1:
                check.error(node.line, f"{where}.gateway", f"required: the enterprise has {len(gateway_ids)} gateways")
        elif isinstance(gateway, str) and gateway not in gateway_ids:
            check.error(
                node.value["gateway"].line,
                f"{where}.gateway",
                f"gateway {gateway!r} is not a gateway of enterprise {ent.code} "
                f"(its gateways: {', '.join(gateway_ids) or 'none'})",
            )
        unit = _meter_unit(check, node, where, carrier)
        product = check.get(node, "product", where, product_key)
        _check_product(check, node, where, product, declared_products, known_quota, spec)
        if product is None and carrier == Carrier.OUTPUT:
            product = ent.product if isinstance(ent.product, str) else None
            if product is None:
                check.error(
                    node.line, f"{where}.product", "required for an output meter (or set the enterprise's product)"
                )
        meter = MeterSpec(
            meter_id=mid,
            gateway_id=gateway,
            carrier=carrier,
            role=role,
            unit=unit,
            multiplier=check.get(node, "multiplier", where, number(True), 1.0),
            product=product,
            name=check.get(node, "name", where, text),
            parent=check.get(node, "parent", where, ident),
            rated_current_a=check.get(node, "rated_current_a", where, number(True)),
            contracted_capacity_kva=check.get(node, "contracted_capacity_kva", where, number(True)),
            temp_min_c=check.get(node, "temp_min_c", where, number()),
            temp_max_c=check.get(node, "temp_max_c", where, number()),
            register_max=check.get(node, "register_max", where, number(True)),
            events=_read_events(check, node, where),
        )
        _meter_rules(check, node, where, meter)
        if isinstance(meter.parent, str):
            parents.append((node, where, meter.parent))
        out.append(meter)
    for node, where, parent in parents:
        if parent not in seen:
            check.error(node.value["parent"].line, f"{where}.parent", f"meter {parent!r} is not a meter of {ent.code}")
    return out


def _meter_unit(check: Checker, node: Located, where: str, carrier: Any) -> str:
    if not isinstance(carrier, str):
        return ""
    default = CARRIER_UNITS[Carrier(carrier)]
    allowed = OUTPUT_UNITS if carrier == Carrier.OUTPUT else (default,)
    return check.get(node, "unit", where, choice(allowed), default)


def _meter_rules(check: Checker, node: Located, where: str, meter: MeterSpec) -> None:
    """Cross-field rules: which optional keys make sense for which carrier and role."""

    def bad(key: str, message: str) -> None:
        check.error(node.value[key].line if key in node.value else node.line, f"{where}.{key}", message)

    if meter.role == MeterRole.PV and meter.carrier not in (None, Carrier.ELECTRICITY):
        bad("role", "a pv meter must have carrier electricity")
    if meter.rated_current_a is not None and meter.role != MeterRole.SAFETY and meter.carrier != Carrier.ELECTRICITY:
        bad("rated_current_a", "only for safety or electricity meters")
    if meter.contracted_capacity_kva is not None and not (
        meter.role == MeterRole.MAIN and meter.carrier == Carrier.ELECTRICITY
    ):
        bad("contracted_capacity_kva", "only for the main electricity meter")
    for key in ("temp_min_c", "temp_max_c"):
        if getattr(meter, key) is not None and meter.carrier != Carrier.TEMPERATURE and meter.role != MeterRole.SAFETY:
            bad(key, "only for temperature or safety meters")
    lo, hi = meter.temp_min_c, meter.temp_max_c
    if isinstance(lo, float) and isinstance(hi, float) and lo >= hi:
        bad("temp_max_c", f"must be above temp_min_c ({lo})")
    if meter.carrier == Carrier.OUTPUT and meter.role not in (MeterRole.MAIN, MeterRole.PROCESS, None):
        bad("role", "an output meter has role main (plant output) or process (a line's output)")


def _read_events(check: Checker, meter_node: Located, meter_where: str) -> list[EventSpec]:
    out: list[EventSpec] = []
    seen: dict[dt.datetime, int] = {}
    for i, node in enumerate(check.items(meter_node.value.get("events"), f"{meter_where}.events")):
        where = f"{meter_where}.events[{i}]"
        if not check.mapping(node, where, EVENT_KEYS, ("kind", "at")):
            continue
        event = EventSpec(
            kind=check.get(node, "kind", where, choice(EVENT_KINDS)),
            at=check.get(node, "at", where, timestamp),
            old_reading=check.get(node, "old_reading", where, number()),
            new_reading=check.get(node, "new_reading", where, number()),
            multiplier=check.get(node, "multiplier", where, number(True)),
            note=check.get(node, "note", where, text),
        )
        if event.kind == "multiplier_change" and event.multiplier is None:
            check.error(node.line, f"{where}.multiplier", "required for a multiplier_change event")
        if isinstance(event.at, dt.datetime):
            if event.at in seen:
                check.error(node.line, f"{where}.at", f"two events at the same time (first on line {seen[event.at]})")
            seen[event.at] = node.line
        out.append(event)
    return out


def _read_banks(check: Checker, root: Located, spec: RegistrySpec) -> set[str]:
    seen: dict[str, int] = {}
    for i, node in enumerate(check.items(root.value.get("banks"), "banks")):
        where = f"banks[{i}]"
        if not check.mapping(node, where, BANK_KEYS, ("id", "name")):
            continue
        bank_id = check.get(node, "id", where, ident)
        if isinstance(bank_id, str) and check.repeated(seen, bank_id, node.line, f"{where}.id", f"bank {bank_id!r}"):
            continue
        spec.banks.append(BankSpec(bank_id, check.get(node, "name", where, text)))
    return set(seen)


def _read_consents(
    check: Checker, root: Located, spec: RegistrySpec, enterprise_codes: set[str], bank_ids: set[str]
) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, node in enumerate(check.items(root.value.get("consents"), "consents")):
        where = f"consents[{i}]"
        if not check.mapping(node, where, CONSENT_KEYS, ("enterprise", "bank", "scopes", "until")):
            continue
        code = check.get(node, "enterprise", where, credit_code)
        bank = check.get(node, "bank", where, ident)
        pair = (code, bank)
        if (isinstance(code, str) and isinstance(bank, str)
                and check.repeated(seen, pair, node.line, where, f"consent of {code} to {bank}")):
            continue
        spec.consents.append(
            ConsentSpec(
                enterprise=code,
                bank=bank,
                scopes=check.get(node, "scopes", where, scopes_value),
                until=check.get(node, "until", where, date_value),
                granted_at=check.get(node, "granted_at", where, timestamp),
                enterprise_where=f"{check.path}:{key_line(node, 'enterprise')}: {where}.enterprise",
                bank_where=f"{check.path}:{key_line(node, 'bank')}: {where}.bank",
            )
        )
