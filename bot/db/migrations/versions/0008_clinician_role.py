"""staff role clinician

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 16:00:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BEFORE = "role IN ('staff', 'editor', 'admin')"
_AFTER = "role IN ('staff', 'editor', 'admin', 'clinician')"


def _role_check(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode (env.py) rebuilds the table.
    with op.batch_alter_table("kap_staff_users") as batch:
        batch.drop_constraint("ck_kap_staff_users_role", type_="check")
        batch.create_check_constraint("ck_kap_staff_users_role", condition)


def upgrade() -> None:
    _role_check(_AFTER)


def downgrade() -> None:
    # A clinician keeps the console with the least access rather than losing the account.
    op.execute("UPDATE kap_staff_users SET role = 'staff' WHERE role = 'clinician'")
    _role_check(_BEFORE)
