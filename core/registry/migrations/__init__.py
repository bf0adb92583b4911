"""Alembic migrations of the registry database (`core.registry.schema` runs them; docs/operations.md).

`HEAD` is the newest revision, so a process can tell "already current" from one `alembic_version` read
without importing Alembic; a unit test keeps it equal to the head of `versions/`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

from sqlalchemy import MetaData

HEAD: Final = "0007_i18_orderly"
"""Revision id of the newest file in versions/ (update it with every new revision)."""

BASELINE: Final = "0001_baseline"
"""The revision that creates the schema `Base.metadata.create_all` made before migrations existed."""

SCRIPT_LOCATION: Final = Path(__file__).resolve().parent
"""Directory holding env.py, script.py.mako and versions/ (shipped as package data)."""


TABLE_MODULES_GROUP: Final = "enerdiag.registry_tables"
"""Entry-point group naming the outer layers' modules that declare registry tables on the shared Base.

Core imports no outer layer (docs/architecture.md, import-linter contracts in pyproject.toml): the bank API's
tables (`api.models`) are registered by the package's metadata (`[project.entry-points."enerdiag.registry_tables"]`
in pyproject.toml), so the schema every process creates or migrates is complete whichever layer it runs.
"""

CORE_TABLE_MODULES: Final = ("core.registry.models", "core.registry.jobs")
"""Core's own modules declaring registry tables."""


@functools.cache
def table_modules() -> tuple[str, ...]:
    """Modules whose import completes the registry metadata: core's, then every registered outer one (the
    installed distributions are scanned once per process)."""
    from importlib.metadata import entry_points

    registered = sorted(ep.value for ep in entry_points(group=TABLE_MODULES_GROUP))
    if not registered:
        raise RuntimeError(f"no registry table modules are registered (entry points {TABLE_MODULES_GROUP!r}): "
                           "install the package (`pip install -e .`) so the bank API's tables are part of the schema")
    return (*CORE_TABLE_MODULES, *registered)


def target_metadata() -> MetaData:
    """The complete registry metadata: core's tables and the registered outer layers', on one declarative Base."""
    from importlib import import_module

    for name in table_modules():
        import_module(name)
    from core.registry.models import Base

    return Base.metadata


def render_item(kind: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Autogenerate writes `UTCDateTime` columns as `sa.DateTime()`: a revision must not import the models."""
    from core.registry.models import UTCDateTime

    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
