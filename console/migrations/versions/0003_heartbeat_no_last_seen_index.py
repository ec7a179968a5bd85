"""heartbeats: drop the index on agents.last_seen

Every heartbeat rewrites `last_seen`; with an index on it each beat also moved an index entry
(and on PostgreSQL could never be a HOT update). Only the periodic silent-agent check and the
metrics gauge filter on it, and a scan of the agents table serves them well.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 03:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index("ix_agents_last_seen")


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index("ix_agents_last_seen", ["last_seen"], unique=False)
