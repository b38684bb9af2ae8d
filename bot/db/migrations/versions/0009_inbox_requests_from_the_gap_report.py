"""inbox requests from the gap report

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:30:00
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kap_inbox_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("message_timestamp", sa.Float(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        "ix_kap_inbox_requests_conversation_id", "kap_inbox_requests", ["conversation_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_kap_inbox_requests_conversation_id", table_name="kap_inbox_requests")
    op.drop_table("kap_inbox_requests")
