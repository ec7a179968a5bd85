"""per-monitor device numbers (agent_displays)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_displays",
        sa.Column("agent_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("monitor", sa.Integer(), nullable=False),
        sa.Column("device", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.PrimaryKeyConstraint("agent_id", "monitor"),
        sa.UniqueConstraint("device"),
    )
    # every device number already issued becomes monitor 0 of its agent
    op.execute("INSERT INTO agent_displays (agent_id, monitor, device) SELECT id, 0, device FROM agents")


def downgrade() -> None:
    op.drop_table("agent_displays")
