"""Alembic's entry: runs the migrations on the connection ``agents.accounts.db.migrate``
hands over (there is no alembic.ini: the URL comes from the settings)."""

from __future__ import annotations

from alembic import context

from agents.accounts.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with `agentstream accounts migrate`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
