"""Keys the server makes once and every bot process shares: the key that signs the sender ids it hands out
(REST, socket.io) when EMENTOR_SENDER_SECRET is not set.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(32), primary_key=True),  # sender
        sa.Column("value", sa.String(128), nullable=False),  # random, URL-safe base64
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_keys")
