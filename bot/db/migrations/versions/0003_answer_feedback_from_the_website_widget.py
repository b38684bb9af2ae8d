"""answer feedback from the website widget

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:14:40.635211
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kap_answer_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("vote", sa.String(length=8), nullable=False),
        sa.CheckConstraint("vote IN ('up', 'down')", name="ck_kap_answer_feedback_vote"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("kap_answer_feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_kap_answer_feedback_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_kap_answer_feedback_topic"), ["topic"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kap_answer_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kap_answer_feedback_topic"))
        batch_op.drop_index(batch_op.f("ix_kap_answer_feedback_conversation_id"))

    op.drop_table("kap_answer_feedback")
