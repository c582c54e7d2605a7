"""The reply given to a message id, kept with it: a repeated delivery (a retry after a lost answer) is
answered with what the citizen was told the first time, not with nothing. `sender` so a reply is handed
back only to whoever sent the message.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_seen") as table:
        table.add_column(sa.Column("sender", sa.String(128)))
        table.add_column(sa.Column("reply", sa.Text))  # JSON: Outbound.to_dict() of each message, phones masked


def downgrade() -> None:
    with op.batch_alter_table("inbound_seen") as table:
        table.drop_column("reply")
        table.drop_column("sender")
