"""handoff reason unanswered

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 20:15:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BEFORE = "reason IN ('eligibility', 'human_request', 'crisis')"
_AFTER = "reason IN ('eligibility', 'human_request', 'crisis', 'unanswered')"


def _reason_check(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode (env.py) rebuilds the table.
    with op.batch_alter_table("kap_handoffs") as batch:
        batch.drop_constraint("ck_kap_handoffs_reason", type_="check")
        batch.create_check_constraint("ck_kap_handoffs_reason", condition)


def upgrade() -> None:
    _reason_check(_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM kap_handoffs WHERE reason = 'unanswered'")
    _reason_check(_BEFORE)
