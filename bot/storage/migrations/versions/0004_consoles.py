"""Consoles: console accounts on the eMentor table (username, password, role), sessions, login throttling, an
audit log; who marked attendance; a hand-over's notes, outcome and who ended it; what the bot showed each turn.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("ementors") as table:
        table.add_column(sa.Column("username", sa.String(40)))
        table.add_column(sa.Column("password_hash", sa.String(200)))
        table.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="ementor"))
        table.create_unique_constraint("ementors_username", ["username"])
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # SHA-256 of the cookie's random value
        sa.Column("ementor_id", _ID, nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(80), primary_key=True),  # "account:<name>" or "address:<hash>"
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor_id", _ID),  # the eMentor or admin; NULL for the bot itself
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),  # JSON, never a citizen's words
    )
    with op.batch_alter_table("bookings") as table:
        table.add_column(sa.Column("marked_by", _ID))
        table.add_column(sa.Column("marked_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("handovers") as table:
        table.add_column(sa.Column("notes", sa.Text, nullable=False, server_default=""))
        table.add_column(sa.Column("outcome", sa.String(24)))
        table.add_column(sa.Column("ended_by", sa.String(40)))  # "ementor:<id>", "citizen", "timeout", "offline"
    with op.batch_alter_table("turns") as table:
        table.add_column(sa.Column("shown", sa.Text, nullable=False, server_default="[]"))  # the bot's reply, JSON
    op.create_index("turns_conversation", "turns", ["channel", "sender", "id"])


def downgrade() -> None:
    op.drop_index("turns_conversation", table_name="turns")
    with op.batch_alter_table("turns") as table:
        table.drop_column("shown")
    with op.batch_alter_table("handovers") as table:
        table.drop_column("ended_by")
        table.drop_column("outcome")
        table.drop_column("notes")
    with op.batch_alter_table("bookings") as table:
        table.drop_column("marked_at")
        table.drop_column("marked_by")
    op.drop_table("audit_log")
    op.drop_table("login_failures")
    op.drop_table("console_sessions")
    with op.batch_alter_table("ementors") as table:
        table.drop_constraint("ementors_username", type_="unique")
        table.drop_column("role")
        table.drop_column("password_hash")
        table.drop_column("username")
