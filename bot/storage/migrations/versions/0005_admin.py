"""Admin console: training phrases (the working copy), the "not understood" inbox, training jobs, model
versions, answer content edited in the console, and the live versions every bot process watches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_BLOB = sa.LargeBinary().with_variant(postgresql.BYTEA(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "nlu_phrases",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("intent", sa.String(64), nullable=False, index=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("folded", sa.Text, nullable=False),  # the text as the model reads it, to find duplicates
        sa.Column("source", sa.String(16), nullable=False),  # seed | console | inbox | import
        sa.Column("file", sa.String(200)),  # the nlu_data/ file it is exported to (relative path)
        sa.Column("created_by", _ID),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("intent", "folded", name="nlu_phrases_once_per_intent"),
    )
    op.create_index("nlu_phrases_folded", "nlu_phrases", ["folded"])
    op.create_table(
        "inbox_items",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),  # redacted as the turn log keeps it
        sa.Column("reason", sa.String(24), nullable=False),  # fallback | low_confidence | did_not_work | to_person
        sa.Column("guesses", sa.Text, nullable=False, server_default="[]"),  # JSON [{"intent", "confidence"}]
        sa.Column("status", sa.String(16), nullable=False, index=True),  # open | added | out_of_scope | dismissed
        sa.Column("resolved_intent", sa.String(64)),
        sa.Column("resolved_by", _ID),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "nlu_jobs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),  # train
        sa.Column("status", sa.String(16), nullable=False, index=True),  # queued | running | done | failed
        sa.Column("progress", sa.Integer, nullable=False, server_default="0"),  # 0-100
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", _ID),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True)),  # a running job whose process died is taken over
        sa.Column("model_id", _ID),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),  # JSON
    )
    op.create_table(
        "nlu_models",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", _ID),
        sa.Column("status", sa.String(16), nullable=False, index=True),  # candidate | active | retired | rejected
        sa.Column("metrics", sa.Text, nullable=False, server_default="{}"),  # JSON: the gate's report
        sa.Column("snapshot", sa.Text, nullable=False, server_default="[]"),  # JSON: the training data used
        sa.Column("blob", _BLOB, nullable=False),  # the model file (.npz bytes)
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.Column("activated_by", _ID),
        sa.Column("override_reason", sa.Text),  # activated although the gate said no: why
    )
    op.create_table(
        "content_overrides",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),  # step | phrase
        sa.Column("key", sa.String(200), nullable=False),  # "flow.step" | "file.key"
        sa.Column("da", sa.Text, nullable=False),
        sa.Column("en", sa.Text, nullable=False),
        sa.Column("updated_by", _ID),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "key", name="content_overrides_one_per_key"),
    )
    with op.batch_alter_table("bookings") as table:
        table.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True)))  # booked (not only held): statistics
    op.create_table(
        "live_versions",
        sa.Column("name", sa.String(32), primary_key=True),  # model | content
        sa.Column("version", _ID, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("live_versions")
    with op.batch_alter_table("bookings") as table:
        table.drop_column("confirmed_at")
    op.drop_table("content_overrides")
    op.drop_table("nlu_models")
    op.drop_table("nlu_jobs")
    op.drop_table("inbox_items")
    op.drop_index("nlu_phrases_folded", table_name="nlu_phrases")
    op.drop_table("nlu_phrases")
