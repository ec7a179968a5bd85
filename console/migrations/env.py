"""Alembic environment; run through `console.migration.upgrade_to_head`, never at import."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import console.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through console.migration.upgrade_to_head")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
