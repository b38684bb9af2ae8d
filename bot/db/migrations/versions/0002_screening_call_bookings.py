"""screening-call bookings, at most one active booking per slot

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 03:35:35.281945
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kap_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("slot_start", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("handoff_reference", sa.String(length=16), nullable=True),
        sa.Column("calendar_token", sa.String(length=64), nullable=False),
        sa.Column("cancelled_at", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('booked', 'cancelled', 'done')", name="ck_kap_bookings_status"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_token"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("kap_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kap_bookings_handoff_reference"), ["handoff_reference"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_kap_bookings_slot_start"), ["slot_start"], unique=False
        )
        batch_op.create_index(
            "uq_kap_bookings_active_slot",
            ["slot_start"],
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("kap_bookings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_kap_bookings_active_slot",
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index(batch_op.f("ix_kap_bookings_slot_start"))
        batch_op.drop_index(batch_op.f("ix_kap_bookings_handoff_reference"))

    op.drop_table("kap_bookings")
