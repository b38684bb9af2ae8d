"""review inbox decisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:20:00
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kap_inbox_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('assigned', 'dismissed')", name="ck_kap_inbox_decisions_decision"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("kap_inbox_decisions")
