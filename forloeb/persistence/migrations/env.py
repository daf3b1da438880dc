"""Alembic environment: always run with a connection handed in by forloeb."""

from __future__ import annotations

from alembic import context

from forloeb.persistence._tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic from its CLI
    raise RuntimeError("run migrations with `forloeb init`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
