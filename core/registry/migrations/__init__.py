"""Alembic migrations of the registry database (`core.registry.schema` runs them; docs/operations.md).

`HEAD` is the newest revision, so a process can tell "already current" from one `alembic_version` read
without importing Alembic; a unit test keeps it equal to the head of `versions/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from sqlalchemy import MetaData

HEAD: Final = "0004_i14_shifts"
"""Revision id of the newest file in versions/ (update it with every new revision)."""

BASELINE: Final = "0001_baseline"
"""The revision that creates the schema `Base.metadata.create_all` made before migrations existed."""

SCRIPT_LOCATION: Final = Path(__file__).resolve().parent
"""Directory holding env.py, script.py.mako and versions/ (shipped as package data)."""


def target_metadata() -> MetaData:
    """The complete registry metadata: core's tables and the bank API's, which share one declarative Base."""
    import api.models  # noqa: F401  (registers the API's tables on the shared Base; core never imports api at top)
    from core.registry.models import Base

    return Base.metadata


def render_item(kind: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Autogenerate writes `UTCDateTime` columns as `sa.DateTime()`: a revision must not import the models."""
    from core.registry.models import UTCDateTime

    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
