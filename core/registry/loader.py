"""`enerdiag registry load FILE.yaml`: validate the whole file (errors name FILE:LINE and the field), then upsert.

A bad file is rejected whole: nothing is written unless every entry is valid. Loading is idempotent: the same
file loaded twice gives the same rows, and a gateway password that did not change keeps its hash (and salt).
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.registry.fileparse import parse_file, parse_registry
from core.registry.filespec import (
    ConsentSpec,
    EventSpec,
    GatewaySpec,
    GreenSpec,
    RegistryFileError,
    RegistrySpec,
)
from core.registry.hashing import mosquitto_hash, mosquitto_verify
from core.registry.models import (
    Bank,
    CarbonBudget,
    Consent,
    Enterprise,
    Gateway,
    GreenPurchase,
    Meter,
    MeterEvent,
    Product,
    utcnow,
)

__all__ = [
    "LoadSummary",
    "RegistryFileError",
    "apply_registry",
    "load_registry_file",
    "parse_registry",
    "quota_product_keys",
    "reference_errors",
]


@dataclass
class LoadSummary:
    """What a load did: counts per kind in the file, and how many rows were created or changed."""

    counts: dict[str, int]
    created: int
    updated: int

    def line(self, path: Path) -> str:
        parts = ", ".join(f"{n} {kind if n != 1 else kind[:-1]}" for kind, n in self.counts.items())
        return f"loaded {path}: {parts} ({self.created} created, {self.updated} updated)"


# ---------------------------------------------------------------- spec → database


def reference_errors(session: Session, spec: RegistrySpec) -> list[str]:
    """Consents, budgets and green purchases whose enterprise (or bank), and retrofits whose financing bank, are
    neither in the file nor the registry."""
    errors = []
    file_codes = {e.code for e in spec.enterprises}
    file_banks = {b.bank_id for b in spec.banks}
    for c in spec.consents:
        code = c.enterprise
        if isinstance(code, str) and code not in file_codes and session.get(Enterprise, code) is None:
            errors.append(f"{c.enterprise_where}: enterprise {c.enterprise} is not in the file or the registry")
        if isinstance(c.bank, str) and c.bank not in file_banks and session.get(Bank, c.bank) is None:
            errors.append(f"{c.bank_where}: bank {c.bank!r} is not in the file or the registry")
    for bank, where in (ref for e in spec.enterprises for ref in e.retrofit_banks):
        if bank not in file_banks and session.get(Bank, bank) is None:
            errors.append(f"{where}: bank {bank!r} is not in the file or the registry")
    known: dict[str, bool] = {}
    for item in [*spec.budgets, *spec.green]:
        code = item.enterprise
        if code not in file_codes:
            if code not in known:
                known[code] = session.get(Enterprise, code) is not None
            if not known[code]:
                errors.append(f"{item.where}: enterprise {code} is not in the file or the registry")
    return errors


def apply_registry(session: Session, spec: RegistrySpec) -> LoadSummary:
    """Upsert a validated spec in `session` (the caller commits); raise RegistryFileError on dangling refs."""
    errors = reference_errors(session, spec)
    if errors:
        raise RegistryFileError(errors)

    tally = _Tally()
    for p in spec.products:
        tally.upsert(session, Product, (p.key,), key=p.key, name=p.name, unit=p.unit, quota_key=p.quota_key)
    for key in sorted(spec.undeclared_products):
        if session.get(Product, key) is None:
            tally.upsert(session, Product, (key,), key=key, name=None, unit="t", quota_key=key)
    for e in spec.enterprises:
        tally.upsert(
            session,
            Enterprise,
            (e.code,),
            code=e.code,
            name=e.name,
            industry=e.industry,
            county=e.county,
            timezone=e.timezone,
            product=e.product,
            contracted_capacity_kva=e.contracted_capacity_kva,
            address=e.address,
            province=e.province,
            ets=e.ets,
            process_co2=e.process_co2,
            tariff=e.tariff,
            shifts=e.shifts,
            retrofits=e.retrofits,
            orderly_priority=e.orderly_priority,
            security_kw=e.security_kw,
        )
        session.flush()
        for g in e.gateways:
            row = tally.upsert(
                session,
                Gateway,
                (e.code, g.gateway_id),
                enterprise_code=e.code,
                gateway_id=g.gateway_id,
                description=g.description,
            )
            new_hash = _gateway_hash(row.password_hash, g)
            if new_hash != row.password_hash:
                row.password_hash = new_hash
                tally.touch(row)
        session.flush()
        for m in e.meters:
            tally.upsert(
                session,
                Meter,
                (e.code, m.meter_id),
                enterprise_code=e.code,
                meter_id=m.meter_id,
                gateway_id=m.gateway_id,
                carrier=m.carrier,
                role=m.role,
                unit=m.unit,
                multiplier=m.multiplier,
                product=m.product,
                name=m.name,
                parent_meter_id=m.parent,
                rated_current_a=m.rated_current_a,
                contracted_capacity_kva=m.contracted_capacity_kva,
                temp_min_c=m.temp_min_c,
                temp_max_c=m.temp_max_c,
                register_max=m.register_max,
            )
        session.flush()
        for m in e.meters:
            for ev in m.events:
                _upsert_event(session, tally, e.code, m.meter_id, ev)
    session.flush()
    for budget in spec.budgets:
        tally.upsert(session, CarbonBudget, (budget.enterprise, budget.year), enterprise_code=budget.enterprise,
                     year=budget.year, budget_t=budget.budget_t, note=budget.note)
    for green in spec.green:
        _upsert_green(session, tally, green)
    for b in spec.banks:
        tally.upsert(session, Bank, (b.bank_id,), id=b.bank_id, name=b.name)
    session.flush()
    for c in spec.consents:
        _upsert_consent(session, tally, c)
    session.flush()
    counts = {
        "enterprises": len(spec.enterprises),
        "gateways": sum(len(e.gateways) for e in spec.enterprises),
        "meters": sum(len(e.meters) for e in spec.enterprises),
        "products": len(spec.products) + len(spec.undeclared_products),
        "banks": len(spec.banks),
        "consents": len(spec.consents),
        "carbon_budgets": len(spec.budgets),
        "green_purchases": len(spec.green),
    }
    return LoadSummary(counts, tally.created, len(tally.updated))


def _gateway_hash(current: str | None, g: GatewaySpec) -> str | None:
    """The hash to store: a given hash as is; a given password re-hashed only when it no longer matches."""
    if g.password_hash is not None:
        return g.password_hash
    if g.password is not None:
        if current and mosquitto_verify(g.password, current):
            return current
        return mosquitto_hash(g.password)
    return current  # no password in the file: keep whatever the registry has


class _Tally:
    def __init__(self) -> None:
        self.created = 0
        self.updated: set[int] = set()
        self.new: set[int] = set()

    def touch(self, row: Any) -> None:
        if id(row) not in self.new:
            self.updated.add(id(row))

    def upsert(self, session: Session, model: type[Any], pk: tuple[Any, ...], **values: Any) -> Any:
        row = session.get(model, pk if len(pk) > 1 else pk[0])
        if row is None:
            row = model(**values)
            session.add(row)
            self.created += 1
            self.new.add(id(row))
            return row
        for key, value in values.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                self.touch(row)
        return row


def _upsert_event(session: Session, tally: _Tally, code: str, meter_id: str, ev: EventSpec) -> None:
    row = session.scalars(
        select(MeterEvent).where(
            MeterEvent.enterprise_code == code, MeterEvent.meter_id == meter_id, MeterEvent.at == ev.at
        )
    ).first()
    values = {
        "kind": ev.kind,
        "old_reading": ev.old_reading,
        "new_reading": ev.new_reading,
        "multiplier": ev.multiplier,
        "note": ev.note,
    }
    if row is None:
        session.add(MeterEvent(enterprise_code=code, meter_id=meter_id, at=ev.at, **values))
        tally.created += 1
        return
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            tally.touch(row)


def _upsert_green(session: Session, tally: _Tally, g: GreenSpec) -> None:
    """A green purchase is identified by enterprise, type, period and reference; mwh and note may change."""
    row = session.scalars(
        select(GreenPurchase).where(
            GreenPurchase.enterprise_code == g.enterprise,
            GreenPurchase.kind == g.kind,
            GreenPurchase.period_from == g.period_from,
            GreenPurchase.period_until == g.period_until,
            GreenPurchase.reference == g.reference,
        )
    ).first()
    if row is None:
        session.add(GreenPurchase(enterprise_code=g.enterprise, kind=g.kind, period_from=g.period_from,
                                  period_until=g.period_until, reference=g.reference, mwh=g.mwh, note=g.note))
        tally.created += 1
        return
    for key, value in (("mwh", g.mwh), ("note", g.note)):
        if getattr(row, key) != value:
            setattr(row, key, value)
            tally.touch(row)


def _upsert_consent(session: Session, tally: _Tally, c: ConsentSpec) -> None:
    """The file states the consent in force: update the open (unrevoked) one, or grant a new one."""
    row = session.scalars(
        select(Consent)
        .where(Consent.enterprise_code == c.enterprise, Consent.bank_id == c.bank, Consent.revoked_at.is_(None))
        .order_by(Consent.granted_at.desc())
    ).first()
    if row is None:
        session.add(
            Consent(
                enterprise_code=c.enterprise,
                bank_id=c.bank,
                scopes=list(c.scopes),
                until=c.until,
                granted_at=c.granted_at or utcnow(),
            )
        )
        tally.created += 1
        return
    if list(row.scopes) != list(c.scopes):
        row.scopes = list(c.scopes)
        tally.touch(row)
    if row.until != c.until:
        row.until = c.until
        tally.touch(row)
    if c.granted_at is not None and row.granted_at != c.granted_at:
        row.granted_at = c.granted_at
        tally.touch(row)


def quota_product_keys() -> set[str] | None:
    """Product keys of the packaged quota reference data (`core/reference/data/quota_standards.yaml`), if any."""
    try:
        text = resources.files("core.reference").joinpath("data/quota_standards.yaml").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        return None
    data = yaml.safe_load(text)
    products = data.get("products") if isinstance(data, dict) else None
    return set(products) if isinstance(products, dict) else None


PACKAGED: Final = frozenset({"<packaged quota reference>"})
"""Default of `known_quota_products`: read the keys from the packaged quota reference data."""


def load_registry_file(
    session: Session, path: Path, known_quota_products: AbstractSet[str] | None = PACKAGED
) -> LoadSummary:
    """Validate `path` whole, then upsert it in `session`; raises RegistryFileError before writing anything.

    `known_quota_products`: product keys that need no `products:` entry (default: the packaged quota
    reference; None: accept any key).
    """
    known = quota_product_keys() if known_quota_products is PACKAGED else known_quota_products
    spec, errors = parse_file(path, None if known is None else set(known))
    errors = errors + reference_errors(session, spec)
    if errors:
        raise RegistryFileError(_by_line(errors))
    return apply_registry(session, spec)


def _by_line(errors: list[str]) -> list[str]:
    """Errors in file order (they all start with FILE:LINE:)."""

    def line(error: str) -> int:
        parts = error.split(":", 2)
        return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0

    return sorted(errors, key=line)
