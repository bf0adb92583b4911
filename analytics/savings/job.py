"""I/O edge of savings verification: the registry's project, its boundary's rollups and weather, then `verify`."""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.billing import ElectricityTariff, TariffError
from analytics.calendar import local_midnight_s, next_month
from analytics.diagnosis.finding import Prices
from analytics.enterprise import EnterpriseInfo
from analytics.refs import Reference
from analytics.registry_view import load_enterprises
from analytics.report.job import read_hourly
from analytics.savings.boundary import boundary_days
from analytics.savings.project import RetrofitProject
from analytics.savings.value import Valuer, values_by_year
from analytics.savings.verify import Verification, verify
from analytics.weather_store import read_weather
from core.influx import InfluxV1
from core.registry.models import Enterprise


class ProjectNotFound(LookupError):
    """No such enterprise or retrofit project in the registry."""


def load_project(session: Session, code: str, project_id: str) -> tuple[EnterpriseInfo, RetrofitProject,
                                                                        ElectricityTariff]:
    """The enterprise, its project and the tariff its CNY use (the registry's, else the labelled assumed one)."""
    row = session.scalars(select(Enterprise).where(Enterprise.code == code)).first()
    if row is None:
        raise ProjectNotFound(f"enterprise {code} is not in the registry")
    stored = next((p for p in row.retrofits or [] if p.get("id") == project_id), None)
    if stored is None:
        known = ", ".join(p.get("id", "?") for p in row.retrofits or []) or "none"
        raise ProjectNotFound(f"enterprise {code} has no retrofit {project_id!r} (its retrofits: {known})")
    tariff = Prices().tariff()
    if row.tariff:
        with contextlib.suppress(TariffError, TypeError, ValueError):  # else the assumed tariff, labelled, prices it
            tariff = ElectricityTariff.from_registry(row.tariff)
    info = load_enterprises(session, [code])[0]
    return info, RetrofitProject.from_stored(code, stored), tariff


def projects(session: Session, code: str | None = None) -> list[RetrofitProject]:
    """Every retrofit project in the registry (of one enterprise)."""
    query = select(Enterprise.code, Enterprise.retrofits)
    if code:
        query = query.where(Enterprise.code == code)
    return [RetrofitProject.from_stored(c, p) for c, stored in session.execute(query) for p in stored or []]


def month_end(month: str) -> dt.date:
    """The last day of YYYY-MM."""
    first = dt.date.fromisoformat(f"{month}-01")
    return next_month(first) - dt.timedelta(days=1)


def run_verification(influx: InfluxV1, enterprise: EnterpriseInfo, project: RetrofitProject,
                     tariff: ElectricityTariff, reference: Reference, reporting_to: dt.date) -> Verification:
    """Read the boundary's hourly rollups and the county's weather from the baseline to `reporting_to`, verify."""
    end = reporting_to + dt.timedelta(days=1)
    tz = enterprise.timezone
    hourly = read_hourly(influx, enterprise.code, local_midnight_s(project.baseline_from, tz),
                         local_midnight_s(end, tz))
    outdoor = read_weather(influx, [enterprise.county], project.baseline_from, end).get(enterprise.county) \
        if enterprise.county else None
    valuer = Valuer(reference, enterprise, tariff)
    carriers = sorted({m.carrier for m in enterprise.meters if m.meter_id in project.meters})
    values = values_by_year(valuer, carriers, range(project.reporting_from.year, reporting_to.year + 1))
    kgce = {c: valuer.kgce_per_unit(c) for c in carriers}
    data = boundary_days(hourly, enterprise, project, project.baseline_from, end, kgce, outdoor)
    return verify(project, data, reporting_to, values)
