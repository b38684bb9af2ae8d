"""handoff and booking flood control: client address, possible-flood mark, one open crisis
handoff per conversation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kap_handoffs") as batch:
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("possible_flood", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        # NULL for every existing row: handoffs stored before this keep working as they are.
        batch.add_column(sa.Column("open_crisis_of", sa.String(length=128), nullable=True))
        batch.create_index("ix_kap_handoffs_client_address", ["client_address"], unique=False)
        batch.create_unique_constraint("uq_kap_handoffs_open_crisis_of", ["open_crisis_of"])
    with op.batch_alter_table("kap_bookings") as batch:
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))
        batch.create_index("ix_kap_bookings_client_address", ["client_address"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kap_bookings") as batch:
        batch.drop_index("ix_kap_bookings_client_address")
        batch.drop_column("client_address")
    with op.batch_alter_table("kap_handoffs") as batch:
        batch.drop_constraint("uq_kap_handoffs_open_crisis_of", type_="unique")
        batch.drop_index("ix_kap_handoffs_client_address")
        batch.drop_column("open_crisis_of")
        batch.drop_column("possible_flood")
        batch.drop_column("client_address")
