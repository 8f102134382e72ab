"""Infrastructure tables every service has, installed into the service's own metadata."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from fangpin_common.db import UTCDateTime

# Their history is the `common` migration branch (fangpin_common/shared_migrations), never a
# service's own.
SHARED_TABLES = ("outbox", "outbox_dead_letters", "processed_events", "dead_letters",
                 "deadlines", "audit_log", "idempotency_keys")


def install(metadata: MetaData) -> None:
    # Rows waiting to be published; a published row is deleted (JetStream keeps the event).
    Table(
        "outbox",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("available_at", UTCDateTime, nullable=False),
        Column("claimed_until", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_created_at", "created_at"),
    )
    # Event ids a consumer has applied, committed with the handler's own writes.
    Table(
        "processed_events",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
    )
    # Messages a consumer gave up on: unparseable at once, failing after max_deliver. Keyed by
    # the message (stream and stream sequence), never by a field parsed from it, so every
    # poison message is its own row; raw bytes and headers are kept for replay or inspection.
    # state: open → replayed | discarded | resolved (who and why in resolved_by and note).
    Table(
        "dead_letters",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("consumer", String(100), nullable=False),
        Column("message_key", String(200), nullable=False),
        Column("stream", String(64), nullable=True),
        Column("stream_seq", BigInteger, nullable=True),
        Column("msg_id", String(200), nullable=True),
        Column("subject", String(200), nullable=True),
        Column("event_id", String(36), nullable=True),
        Column("event_type", String(200), nullable=True),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=True),
        Column("error", Text, nullable=False),
        Column("deliveries", Integer, nullable=False),
        Column("state", String(16), nullable=False, default="open"),
        Column("created_at", UTCDateTime, nullable=False),
        Column("resolved_at", UTCDateTime, nullable=True),
        Column("resolved_by", String(100), nullable=True),
        Column("note", Text, nullable=True),
        UniqueConstraint("consumer", "message_key"),
        Index("ix_dead_letters_state", "state"),
    )
    # Outbox rows that cannot be published (over NATS's payload limit, or rejected by the
    # server again and again): moved here so they block nothing, kept for resend or discard.
    # state: open → resent | discarded.
    Table(
        "outbox_dead_letters",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("error", Text, nullable=False),
        Column("dead_at", UTCDateTime, nullable=False),
        Column("state", String(16), nullable=False, default="open"),
        Column("resolved_at", UTCDateTime, nullable=True),
        Column("resolved_by", String(100), nullable=True),
        Column("note", Text, nullable=True),
        Index("ix_outbox_dead_letters_state", "state"),
    )
    # "X must happen within N days of Y", as state: open → met | overdue (→ met late).
    Table(
        "deadlines",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("subject_type", String(32), nullable=False),
        Column("subject_id", String(100), nullable=False),
        Column("household_id", String(64), nullable=True),
        Column("township", String(32), nullable=True),
        Column("village", String(32), nullable=True),
        Column("started_on", Date, nullable=False),
        Column("due_on", Date, nullable=False),
        Column("due_soon_on", Date, nullable=False),
        Column("state", String(16), nullable=False, default="open"),
        Column("met_on", Date, nullable=True),
        Column("due_soon_emitted_at", UTCDateTime, nullable=True),
        Column("overdue_emitted_at", UTCDateTime, nullable=True),
        Column("context", JSON, nullable=False, default=dict),
        Column("created_at", UTCDateTime, nullable=False),
        UniqueConstraint("kind", "subject_id"),
        Index("ix_deadlines_state_due_on", "state", "due_on"),
        Index("ix_deadlines_township", "township"),
    )
    # Who changed what, when: before and after (households, cases, …).
    Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("actor", String(100), nullable=False),
        Column("role", String(20), nullable=False),
        Column("entity_type", String(40), nullable=False),
        Column("entity_id", String(64), nullable=False),
        Column("action", String(40), nullable=False),
        Column("before", JSON, nullable=True),
        Column("after", JSON, nullable=True),
        Column("request_id", String(64), nullable=True),
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
    )
    # A POST's Idempotency-Key, written in the POST's own transaction, and its first answer.
    Table(
        "idempotency_keys",
        metadata,
        Column("caller", String(100), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        # Null until the answer is recorded, just after the commit that stored the key.
        Column("status", Integer, nullable=True),
        Column("headers", JSON, nullable=True),
        Column("body", LargeBinary, nullable=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Index("ix_idempotency_keys_expires_at", "expires_at"),
    )


# Unqualified handles the shared code queries through; each service's metadata holds its own
# copies for its migrations, and search_path / the SQLite file picks the service's tables.
_handles = MetaData()
install(_handles)
OUTBOX = _handles.tables["outbox"]
PROCESSED_EVENTS = _handles.tables["processed_events"]
DEAD_LETTERS = _handles.tables["dead_letters"]
OUTBOX_DEAD_LETTERS = _handles.tables["outbox_dead_letters"]
DEADLINES = _handles.tables["deadlines"]
AUDIT_LOG = _handles.tables["audit_log"]
IDEMPOTENCY_KEYS = _handles.tables["idempotency_keys"]
