"""The database schema (SQLAlchemy Core). Alembic alone changes it: see migrations/."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

conversations = Table(
    "conversations",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("sender", String(128), primary_key=True),
    Column("state", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per citizen turn: what the admin console and statistics read, and what a later issue redacts
# and expires. Written only by Store.turn.
turns = Table(
    "turns",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("intent", String(64), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("flow", String(64)),
    Column("step", String(64)),
    Column("outcome", String(32), nullable=False),
    Column("replies", Integer, nullable=False),
)

# Channel message ids already handled, so a re-delivered update (Telegram retries) is processed once.
inbound_seen = Table(
    "inbound_seen",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("message_id", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Button payloads too long for a channel's button data (Telegram's callback_data holds 64 bytes), kept under
# a short key derived from the payload itself: the same payload always gets the same key, so rows are
# written once and stay valid for every process and after restarts. Written by Store.save_button_payloads.
button_payloads = Table(
    "button_payloads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
