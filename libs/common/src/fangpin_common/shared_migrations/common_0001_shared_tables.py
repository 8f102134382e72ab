"""shared tables: outbox, processed events, dead letters, deadlines, audit log

The tables every service had from its own initial revision, now in one place. A database
made before this branch existed has them already (and records only its service's head):
such a table is left as it is.

Revision ID: common_0001
Revises:
Create Date: 2026-12-04 17:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangpin_common.db

revision: str = "common_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("common",)
depends_on: str | Sequence[str] | None = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("audit_log"):
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("actor", sa.String(length=100), nullable=False),
            sa.Column("role", sa.String(length=20), nullable=False),
            sa.Column("entity_type", sa.String(length=40), nullable=False),
            sa.Column("entity_id", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=40), nullable=False),
            sa.Column("before", sa.JSON(), nullable=True),
            sa.Column("after", sa.JSON(), nullable=True),
            sa.Column("request_id", sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        )
        op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"])
    if _missing("dead_letters"):
        op.create_table(
            "dead_letters",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("consumer", sa.String(length=100), nullable=False),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("event_type", sa.String(length=200), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.Column("error", sa.Text(), nullable=False),
            sa.Column("deliveries", sa.Integer(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("created_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("resolved_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
            sa.UniqueConstraint("consumer", "event_id",
                                name=op.f("uq_dead_letters_consumer_event_id")),
        )
    if _missing("deadlines"):
        op.create_table(
            "deadlines",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("kind", sa.String(length=64), nullable=False),
            sa.Column("subject_type", sa.String(length=32), nullable=False),
            sa.Column("subject_id", sa.String(length=100), nullable=False),
            sa.Column("household_id", sa.String(length=64), nullable=True),
            sa.Column("township", sa.String(length=32), nullable=True),
            sa.Column("village", sa.String(length=32), nullable=True),
            sa.Column("started_on", sa.Date(), nullable=False),
            sa.Column("due_on", sa.Date(), nullable=False),
            sa.Column("due_soon_on", sa.Date(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("met_on", sa.Date(), nullable=True),
            sa.Column("due_soon_emitted_at", fangpin_common.db.UTCDateTime(timezone=True),
                      nullable=True),
            sa.Column("overdue_emitted_at", fangpin_common.db.UTCDateTime(timezone=True),
                      nullable=True),
            sa.Column("context", sa.JSON(), nullable=False),
            sa.Column("created_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
            sa.UniqueConstraint("kind", "subject_id", name=op.f("uq_deadlines_kind_subject_id")),
        )
        op.create_index("ix_deadlines_state_due_on", "deadlines", ["state", "due_on"])
        op.create_index("ix_deadlines_township", "deadlines", ["township"])
    if _missing("outbox"):
        op.create_table(
            "outbox",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("event_type", sa.String(length=200), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
            sa.Column("available_at", fangpin_common.db.UTCDateTime(timezone=True),
                      nullable=False),
            sa.Column("claimed_until", fangpin_common.db.UTCDateTime(timezone=True),
                      nullable=True),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        )
        op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    if _missing("processed_events"):
        op.create_table(
            "processed_events",
            sa.Column("consumer", sa.String(length=100), nullable=False),
            sa.Column("event_id", sa.String(length=36), nullable=False),
            sa.Column("event_type", sa.String(length=200), nullable=False),
            sa.Column("processed_at", fangpin_common.db.UTCDateTime(timezone=True),
                      nullable=False),
            sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
        )


def downgrade() -> None:
    for name in ("processed_events", "outbox", "deadlines", "dead_letters", "audit_log"):
        op.drop_table(name)
