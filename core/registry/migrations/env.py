"""Alembic environment of the registry: a connection handed over by `core.registry.schema`, else a URL.

The URL is `sqlalchemy.url` of the config if set, else the settings' registry URL (ENERDIAG_DB_URL, else the
SQLite file in the data dir), so `alembic -c core/registry/migrations/alembic.ini …` works on a checkout.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from core.registry.migrations import render_item, target_metadata

OPTIONS: dict[str, Any] = {"render_as_batch": True, "compare_type": True, "render_item": render_item}
"""Batch mode: SQLite ALTERs become copy-and-rename of the table; compare types in autogenerate."""


def _url() -> Any:
    url = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from core.registry.db import registry_url

    return registry_url()


def run_offline() -> None:
    """Emit the SQL instead of running it (`enerdiag registry migrate --sql`)."""
    context.configure(url=_url(), target_metadata=target_metadata(), literal_binds=True,
                      dialect_opts={"paramstyle": "named"}, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run on the connection `core.registry.schema` passed in `config.attributes`, else on a new engine."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata(), **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata(), **OPTIONS)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.config.config_file_name and "connection" not in context.config.attributes:
    from logging.config import fileConfig

    fileConfig(context.config.config_file_name, disable_existing_loggers=False)  # the `alembic` command line

if context.is_offline_mode():
    run_offline()
else:
    run_online()
