"""The database schema (SQLAlchemy Core). Alembic alone changes it: see migrations/."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import BYTEA

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
    Column("shown", Text, nullable=False, server_default="[]"),  # what the bot replied, JSON (migration 0004)
    Index("turns_conversation", "channel", "sender", "id"),  # a hand-over's transcript (migration 0004)
)

# Channel message ids already handled, so a re-delivered update (Telegram retries) is processed once and
# answered with the reply given the first time.
inbound_seen = Table(
    "inbound_seen",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("message_id", String(128), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # the reply given the first time, handed back to the same sender on a repeat (migration 0007)
    Column("sender", String(128)),
    Column("reply", Text),  # JSON: each message's Outbound.to_dict(), phone numbers masked
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

# ---- escalation: bookings, workshops, hand-over, eMentors, the outbox (migration 0003) -------------------
# Timestamps are aware UTC everywhere; every timestamp column's name ends in _at or _until (storage/tx.py
# relies on that to read SQLite's text form back).

_ID = BigInteger().with_variant(Integer, "sqlite")

# eMentor accounts (CLI now, web consoles later). The API token is kept only as a SHA-256 hash.
ementors = Table(
    "ementors",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("name", String(80), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("telegram_user_id", BigInteger, unique=True),
    Column("online_until", DateTime(timezone=True)),
    Column("active", Integer, nullable=False, server_default="1"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("username", String(40), unique=True),  # console login (migration 0004)
    Column("password_hash", String(200)),  # Argon2; NULL: no console login
    Column("role", String(16), nullable=False, server_default="ementor"),  # ementor | admin
)

# A console login: the cookie holds a random value, the table only its SHA-256. Idle and absolute expiry are
# measured from seen_at and created_at (consoles settings).
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("ementor_id", _ID, nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

# Failed logins per account and per (hashed) address, for throttling.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
)

# What eMentors and admins did, in order; the consoles can read it but never change it.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor_id", _ID),
    Column("action", String(40), nullable=False),
    Column("subject", String(80), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}"),
)

# Time an eMentor cannot serve at a location: `places` fewer places in the slots it overlaps (NULL: all).
blocks = Table(
    "blocks",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("location", String(64), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("places", Integer),
    Column("reason", String(200), nullable=False, server_default=""),
    Column("ementor_id", _ID),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# A citizen's place in a slot or a workshop. `resource` names the slot ("slot:<location>:<start>") or the
# workshop date ("workshop:<id>:<start>"); `place` is the seat number. The partial unique index on
# (resource, place) for live bookings is what makes a double booking impossible, in either database.
bookings = Table(
    "bookings",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("reference", String(12), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # slot | workshop
    Column("resource", String(160), nullable=False),
    Column("place", Integer, nullable=False),
    Column("location", String(64), nullable=False),
    Column("workshop", String(64)),
    Column("starts_at", DateTime(timezone=True), nullable=False, index=True),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("language", String(8), nullable=False),
    Column("topic", String(64)),
    Column("tried", Text, nullable=False, server_default="[]"),  # JSON: flows/steps tried, for the eMentor
    Column("name", String(80)),
    Column("phone", String(20)),
    Column("status", String(16), nullable=False),  # held | booked | cancelled | moved | attended | no_show
    Column("moved_to", _ID),
    Column("calendar_key", String(40), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("marked_by", _ID),  # the eMentor who marked attendance (migration 0004)
    Column("marked_at", DateTime(timezone=True)),
    Column("confirmed_at", DateTime(timezone=True)),  # when it became booked (migration 0005)
    Index("bookings_owner", "channel", "sender"),
    Index(
        "bookings_one_per_place",
        "resource",
        "place",
        unique=True,
        sqlite_where=text("status IN ('held', 'booked', 'attended', 'no_show')"),
        postgresql_where=text("status IN ('held', 'booked', 'attended', 'no_show')"),
    ),
)

# A citizen waiting for, or talking with, an eMentor. At most one open hand-over per conversation.
handovers = Table(
    "handovers",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("sender", String(128), nullable=False),
    Column("language", String(8), nullable=False),
    Column("topic", String(64)),
    Column("tried", Text, nullable=False, server_default="[]"),
    Column("status", String(16), nullable=False),  # waiting | active | ended | expired | left
    Column("ementor_id", _ID),
    Column("ementor_name", String(80)),
    Column("ementor_telegram_id", BigInteger),  # taken in the eMentors' Telegram group, by this user
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("taken_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("notes", Text, nullable=False, server_default=""),  # the eMentors' private notes (migration 0004)
    Column("outcome", String(24)),  # solved | booked | borgerservice | other
    Column("ended_by", String(40)),  # "ementor:<id>" | "citizen" | "timeout" | "offline"
    Index(
        "handovers_one_open",
        "channel",
        "sender",
        unique=True,
        sqlite_where=text("status IN ('waiting', 'active')"),
        postgresql_where=text("status IN ('waiting', 'active')"),
    ),
)

# What was said during a hand-over, in order: the eMentor's API reads it.
handover_messages = Table(
    "handover_messages",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("handover_id", _ID, nullable=False, index=True),
    Column("author", String(16), nullable=False),  # citizen | ementor | bot
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Events for the eMentors (new booking, hand-over request, cancellation): the JSON API's feed.
notices = Table(
    "notices",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("body", Text, nullable=False),  # JSON
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Messages the bot sends on its own (reminders, eMentor replies, notices to the eMentors' group), written
# in the same transaction as what caused them and delivered by a worker in any bot process: a row is
# claimed for a lease, sent, marked sent; a failed send is retried later, and after the last attempt it
# stays `failed` with its error, for the API and the log.
outbox = Table(
    "outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # reminder | handover | notice | system
    Column("channel", String(32), nullable=False),
    Column("recipient", String(128), nullable=False),
    Column("body", Text, nullable=False),  # JSON list of messages
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # pending | sending | sent | failed | cancelled
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("lease_until", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("booking_id", _ID),
    Column("handover_id", _ID),
    Column("external_id", String(64)),  # the channel's id of the sent message (Telegram message_id)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("outbox_due", "status", "due_at"),
    Index("outbox_recipient", "channel", "recipient", "status"),
)

# ---- the admin console (migration 0005) -------------------------------------------------------------------
_BLOB = LargeBinary().with_variant(BYTEA(), "postgresql")

# The training phrases' working copy, seeded from nlu_data/ and written back by `ementor nlu export`.
nlu_phrases = Table(
    "nlu_phrases",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("intent", String(64), nullable=False, index=True),
    Column("language", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("folded", Text, nullable=False),
    Column("source", String(16), nullable=False),  # seed | console | inbox | import
    Column("file", String(200)),  # the nlu_data/ file it is exported to
    Column("created_by", _ID),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("intent", "folded", name="nlu_phrases_once_per_intent"),
    Index("nlu_phrases_folded", "folded"),
)

# Messages the bot did not understand (redacted), until an admin adds them to an intent or sets them aside.
inbox_items = Table(
    "inbox_items",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("channel", String(32), nullable=False),
    Column("language", String(8), nullable=False),
    Column("text", Text, nullable=False),
    Column("reason", String(24), nullable=False),  # fallback | low_confidence | did_not_work | to_person
    Column("guesses", Text, nullable=False, server_default="[]"),
    Column("status", String(16), nullable=False, index=True),  # open | added | out_of_scope | dismissed
    Column("resolved_intent", String(64)),
    Column("resolved_by", _ID),
    Column("resolved_at", DateTime(timezone=True)),
)

# Background jobs (retraining), their progress shared through the database so any process can show it.
nlu_jobs = Table(
    "nlu_jobs",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # queued | running | done | failed
    Column("progress", Integer, nullable=False, server_default="0"),
    Column("message", Text, nullable=False, server_default=""),
    Column("created_by", _ID),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("model_id", _ID),
    Column("detail", Text, nullable=False, server_default="{}"),
)

# Model versions with their gate report and training data; one is active, and every process serves it.
nlu_models = Table(
    "nlu_models",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", _ID),
    Column("status", String(16), nullable=False, index=True),  # candidate | active | retired | rejected
    Column("metrics", Text, nullable=False, server_default="{}"),
    Column("snapshot", Text, nullable=False, server_default="[]"),
    Column("blob", _BLOB, nullable=False),
    Column("size", Integer, nullable=False),
    Column("activated_at", DateTime(timezone=True)),
    Column("activated_by", _ID),
    Column("override_reason", Text),
)

# Flow step texts and the bot's phrases as edited in the console, over the files in flows/.
content_overrides = Table(
    "content_overrides",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # step | phrase
    Column("key", String(200), nullable=False),
    Column("da", Text, nullable=False),
    Column("en", Text, nullable=False),
    Column("updated_by", _ID),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "key", name="content_overrides_one_per_key"),
)

# What every bot process watches to pick up a new model or new content without a restart.
live_versions = Table(
    "live_versions",
    metadata,
    Column("name", String(32), primary_key=True),  # model | content
    Column("version", _ID, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Keys made once at first start and shared by every bot process (migration 0006): "sender" signs the sender
# ids the server hands out when EMENTOR_SENDER_SECRET is not set.
server_keys = Table(
    "server_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
