"""staff sessions that can be ended, sign-in throttle instead of a lockout

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:45:00
"""

import sqlalchemy as sa
from alembic import op

import bot.db.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite cannot drop a column in place: batch mode (env.py) rebuilds the table.
    with op.batch_alter_table("kap_staff_users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        # The lockout any stranger could set is replaced by kap_login_throttle.
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
    op.create_table(
        "kap_login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("account_hash", sa.String(length=64), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("known_until", bot.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", bot.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_kap_login_throttle_account_hash", "kap_login_throttle", ["account_hash"])
    op.create_index("ix_kap_login_throttle_updated_at", "kap_login_throttle", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_kap_login_throttle_updated_at", table_name="kap_login_throttle")
    op.drop_index("ix_kap_login_throttle_account_hash", table_name="kap_login_throttle")
    op.drop_table("kap_login_throttle")
    with op.batch_alter_table("kap_staff_users") as batch:
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("locked_until", bot.db.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.drop_column("must_change_password")
        batch.drop_column("session_version")
