"""Conversations, turn log and seen inbound message ids.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("sender", sa.String(128), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("flow", sa.String(64)),
        sa.Column("step", sa.String(64)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("replies", sa.Integer, nullable=False),
    )
    op.create_index("ix_turns_created_at", "turns", ["created_at"])
    op.create_table(
        "inbound_seen",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inbound_seen")
    op.drop_index("ix_turns_created_at", "turns")
    op.drop_table("turns")
    op.drop_table("conversations")
