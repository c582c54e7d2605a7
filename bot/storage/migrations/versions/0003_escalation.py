"""Escalation: eMentor accounts, blocked time, bookings (slots and workshops), hand-overs, notices, outbox.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "ementors",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("telegram_user_id", sa.BigInteger, unique=True),
        sa.Column("online_until", sa.DateTime(timezone=True)),
        sa.Column("active", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "blocks",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("places", sa.Integer),
        sa.Column("reason", sa.String(200), nullable=False, server_default=""),
        sa.Column("ementor_id", _ID),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "bookings",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(12), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("resource", sa.String(160), nullable=False),
        sa.Column("place", sa.Integer, nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("workshop", sa.String(64)),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(64)),
        sa.Column("tried", sa.Text, nullable=False, server_default="[]"),
        sa.Column("name", sa.String(80)),
        sa.Column("phone", sa.String(20)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("moved_to", _ID),
        sa.Column("calendar_key", sa.String(40), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bookings_starts_at", "bookings", ["starts_at"])
    op.create_index("bookings_owner", "bookings", ["channel", "sender"])
    op.create_index(
        "bookings_one_per_place",
        "bookings",
        ["resource", "place"],
        unique=True,
        sqlite_where=sa.text("status IN ('held', 'booked', 'attended', 'no_show')"),
        postgresql_where=sa.text("status IN ('held', 'booked', 'attended', 'no_show')"),
    )
    op.create_table(
        "handovers",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(64)),
        sa.Column("tried", sa.Text, nullable=False, server_default="[]"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ementor_id", _ID),
        sa.Column("ementor_name", sa.String(80)),
        sa.Column("ementor_telegram_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "handovers_one_open",
        "handovers",
        ["channel", "sender"],
        unique=True,
        sqlite_where=sa.text("status IN ('waiting', 'active')"),
        postgresql_where=sa.text("status IN ('waiting', 'active')"),
    )
    op.create_table(
        "handover_messages",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("handover_id", _ID, nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handover_messages_handover_id", "handover_messages", ["handover_id"])
    op.create_table(
        "notices",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("booking_id", _ID),
        sa.Column("handover_id", _ID),
        sa.Column("external_id", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("outbox_recipient", "outbox", ["channel", "recipient", "status"])
    op.create_index("outbox_due", "outbox", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("notices")
    op.drop_table("handover_messages")
    op.drop_table("handovers")
    op.drop_table("bookings")
    op.drop_table("blocks")
    op.drop_table("ementors")
