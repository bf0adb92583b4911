"""Objections (异议): an enterprise disputes a figure; while open, it travels with that figure to every bank."""

from __future__ import annotations

import datetime as dt
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Objection
from core.domain import QUANTITIES
from core.registry.models import Enterprise, utcnow

FIGURES: Final = (
    # credit indicators
    "activity_index", "utilisation", "stability_cv", "trend_mom", "trend_yoy", "shutdown_days_90d",
    "quota_status", "carbon_intensity_t_per_t", "green_share", "completeness", "anomalies",
    "open_critical_safety_alarms", "safety_alarms_90d",
    # profile figures
    "energy", "tce", "co2_t", "output_t", "intensity_kgce_per_t",
    # warehouse and order verification
    "warehouse", "order_verification",
)
"""Figures an objection can name, besides the series quantities of CONTRACTS.md section 2."""

INDICATORS: Final = frozenset(FIGURES) | frozenset(QUANTITIES)


class ObjectionError(ValueError):
    """An objection that cannot be recorded; the message says why."""


def add_objection(session: Session, code: str, indicator: str, text: str, period: str | None = None) -> Objection:
    """Record an open objection of enterprise `code` to `indicator` (optionally for one period)."""
    if session.get(Enterprise, code) is None:
        raise ObjectionError(f"no enterprise {code} in the registry")
    if indicator not in INDICATORS:
        raise ObjectionError(f"unknown indicator {indicator!r} (one of: {', '.join(sorted(INDICATORS))})")
    if not text.strip():
        raise ObjectionError("the objection text must not be empty")
    row = Objection(enterprise_code=code, indicator=indicator, period=period, text=text.strip(), opened_at=utcnow())
    session.add(row)
    session.flush()
    return row


def resolve_objection(session: Session, objection_id: int, resolution: str, at: dt.datetime | None = None) -> Objection:
    """Close an objection with the outcome of its review; it is no longer shown to banks."""
    row = session.get(Objection, objection_id)
    if row is None:
        raise ObjectionError(f"no objection with id {objection_id}")
    if row.resolved_at is None:
        row.resolved_at, row.resolution = at or utcnow(), resolution
    session.flush()
    return row


def list_objections(session: Session, code: str, *, open_only: bool = False) -> list[Objection]:
    """An enterprise's objections, oldest first."""
    query = select(Objection).where(Objection.enterprise_code == code)
    if open_only:
        query = query.where(Objection.resolved_at.is_(None))
    return list(session.scalars(query.order_by(Objection.opened_at, Objection.id)))
