"""idempotency keys: a POST's key and its first answer, per caller

Revision ID: common_0003
Revises: common_0002
Create Date: 2026-12-04 18:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fangpin_common.db

revision: str = "common_0003"
down_revision: str | None = "common_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("caller", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", fangpin_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("caller", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
