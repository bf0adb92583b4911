"""Read the registry into the plain dataclasses the analytics take (the only analytics module that touches SQL)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from analytics.consumption import CounterEvent, max_rate_from_capacity
from analytics.enterprise import EnterpriseInfo, GreenPurchase, MeterInfo
from analytics.orderly.job import OrderlyFacts
from analytics.process_co2 import ProcessInputs
from core.domain import Carrier, MeterRole
from core.registry.fileorderly import DEFAULT_PRIORITY
from core.registry.models import Enterprise, Meter, Product


def meter_info(meter: Meter, enterprise: Enterprise) -> MeterInfo:
    """A registry meter as `MeterInfo`; an electricity main meter's rate cap comes from the contracted capacity."""
    capacity = meter.contracted_capacity_kva
    if capacity is None and meter.carrier == Carrier.ELECTRICITY.value and meter.role == MeterRole.MAIN.value:
        capacity = enterprise.contracted_capacity_kva
    events = tuple(
        CounterEvent(int(ev.at.timestamp()), ev.kind, ev.old_reading, ev.new_reading, ev.multiplier)
        for ev in meter.events
    )
    return MeterInfo(
        meter_id=meter.meter_id,
        carrier=meter.carrier,
        role=meter.role,
        multiplier=float(meter.multiplier or 1.0),
        product=meter.product,
        register_max=meter.register_max,
        max_rate_per_h=max_rate_from_capacity(capacity) if meter.carrier == Carrier.ELECTRICITY.value else None,
        events=events,
    )


def enterprise_info(row: Enterprise, product: Product | None = None) -> EnterpriseInfo:
    """A registry enterprise with its meters (and its product's quota key and unit) as `EnterpriseInfo`."""
    return EnterpriseInfo(
        code=row.code,
        timezone=row.timezone or "Asia/Shanghai",
        product=row.product,
        industry=row.industry,
        county=row.county,
        meters=tuple(meter_info(m, row) for m in row.meters),
        quota_product=product.quota_key if product is not None else None,
        output_unit=product.unit if product is not None and product.unit else "t",
        co2_budgets=tuple((b.year, float(b.budget_t)) for b in row.carbon_budgets),
        green_purchases=tuple(GreenPurchase(g.kind, g.period_from, g.period_until, float(g.mwh))
                              for g in row.green_purchases),
        province=row.province,
        ets=bool(row.ets),
        process_co2=ProcessInputs.from_json(row.process_co2),
    )


def load_enterprises(session: Session, codes: list[str] | None = None) -> list[EnterpriseInfo]:
    """Every enterprise (or those in `codes`) with meters, meter events, CO2 budgets and green purchases."""
    query = select(Enterprise).options(selectinload(Enterprise.meters).selectinload(Meter.events),
                                       selectinload(Enterprise.carbon_budgets),
                                       selectinload(Enterprise.green_purchases))
    if codes:
        query = query.where(Enterprise.code.in_(codes))
    products = {p.key: p for p in session.scalars(select(Product))}
    return [enterprise_info(row, products.get(row.product or ""))
            for row in session.scalars(query.order_by(Enterprise.code))]


def orderly_facts(session: Session) -> dict[str, OrderlyFacts]:
    """Name, orderly-use priority class and declared security load of every enterprise, by credit code."""
    rows = session.execute(select(Enterprise.code, Enterprise.name, Enterprise.orderly_priority,
                                  Enterprise.security_kw))
    return {code: OrderlyFacts(name, priority or DEFAULT_PRIORITY, security) for code, name, priority, security in rows}
