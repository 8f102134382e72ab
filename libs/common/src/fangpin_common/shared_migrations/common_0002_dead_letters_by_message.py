"""dead letters keyed by the message; producer dead letters

Consumer dead letters were unique per (consumer, event id), and an unparseable message was
stored with an empty event id, so every one after the first was dropped. They are now keyed
by the message itself (stream and stream sequence) and keep its headers; who closed one and
why is recorded. Rows already there get a key of their own (`legacy:<id>`).

Outbox rows that cannot be published move to `outbox_dead_letters`.

Revision ID: common_0002
Revises: common_0001
Create Date: 2026-12-04 17:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangpin_common.db

revision: str = "common_0002"
down_revision: str | None = "common_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_constraint("uq_dead_letters_consumer_event_id", type_="unique")
        batch.add_column(sa.Column("message_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("stream", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("stream_seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("msg_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("headers", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.alter_column("event_id", existing_type=sa.String(length=36), nullable=True)
        batch.alter_column("event_type", existing_type=sa.String(length=200), nullable=True)
    # Existing rows: a key each; the empty id that stood for "not parsed" becomes NULL.
    op.execute("UPDATE dead_letters SET message_key = 'legacy:' || CAST(id AS VARCHAR(20))")
    op.execute("UPDATE dead_letters SET event_id = NULL WHERE event_id = ''")
    with op.batch_alter_table("dead_letters") as batch:
        batch.alter_column("message_key", existing_type=sa.String(length=200), nullable=False)
        batch.create_unique_constraint(op.f("uq_dead_letters_consumer_message_key"),
                                       ["consumer", "message_key"])
        batch.create_index("ix_dead_letters_state", ["state"])

    op.create_table(
        "outbox_dead_letters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("dead_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_dead_letters")),
    )
    op.create_index("ix_outbox_dead_letters_state", "outbox_dead_letters", ["state"])


def downgrade() -> None:
    op.drop_index("ix_outbox_dead_letters_state", table_name="outbox_dead_letters")
    op.drop_table("outbox_dead_letters")
    # Back to one row per (consumer, event id): rows without an id take their key's start.
    op.execute("UPDATE dead_letters SET event_id = SUBSTR(message_key, 1, 36) "
               "WHERE event_id IS NULL")
    op.execute("UPDATE dead_letters SET event_type = '' WHERE event_type IS NULL")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_index("ix_dead_letters_state")
        batch.drop_constraint("uq_dead_letters_consumer_message_key", type_="unique")
        for name in ("note", "resolved_by", "headers", "subject", "msg_id", "stream_seq",
                     "stream", "message_key"):
            batch.drop_column(name)
        batch.alter_column("event_id", existing_type=sa.String(length=36), nullable=False)
        batch.alter_column("event_type", existing_type=sa.String(length=200), nullable=False)
        batch.create_unique_constraint("uq_dead_letters_consumer_event_id",
                                       ["consumer", "event_id"])
