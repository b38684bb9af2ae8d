"""handoffs, transcripts, notes, staff users and audit log

Revision ID: 0001
Revises:
Create Date: 2026-11-26 23:04:13.293587
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "kap_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kap_audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kap_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "kap_handoffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.String(length=120), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("contact_consent", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reason IN ('eligibility', 'human_request', 'crisis')", name="ck_kap_handoffs_reason"
        ),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'resolved')", name="ck_kap_handoffs_status"
        ),
        sa.CheckConstraint("urgency IN ('urgent', 'normal')", name="ck_kap_handoffs_urgency"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("kap_handoffs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kap_handoffs_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index("ix_kap_handoffs_status_urgency", ["status", "urgency"], unique=False)

    op.create_table(
        "kap_staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('staff', 'editor', 'admin')", name="ck_kap_staff_users_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "kap_handoff_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["kap_handoffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kap_handoff_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kap_handoff_notes_handoff_id"), ["handoff_id"], unique=False
        )

    op.create_table(
        "kap_transcript_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("time", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.CheckConstraint("speaker IN ('user', 'bot')", name="ck_kap_transcript_turns_speaker"),
        sa.ForeignKeyConstraint(["handoff_id"], ["kap_handoffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handoff_id", "position", name="uq_kap_transcript_turns_position"),
    )
    with op.batch_alter_table("kap_transcript_turns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kap_transcript_turns_handoff_id"), ["handoff_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("kap_transcript_turns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kap_transcript_turns_handoff_id"))

    op.drop_table("kap_transcript_turns")
    with op.batch_alter_table("kap_handoff_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kap_handoff_notes_handoff_id"))

    op.drop_table("kap_handoff_notes")
    op.drop_table("kap_staff_users")
    with op.batch_alter_table("kap_handoffs", schema=None) as batch_op:
        batch_op.drop_index("ix_kap_handoffs_status_urgency")
        batch_op.drop_index(batch_op.f("ix_kap_handoffs_created_at"))

    op.drop_table("kap_handoffs")
    with op.batch_alter_table("kap_audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kap_audit_log_at"))

    op.drop_table("kap_audit_log")
