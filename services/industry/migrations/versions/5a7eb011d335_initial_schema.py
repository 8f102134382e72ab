"""initial schema

Revision ID: 5a7eb011d335
Revises: 
Create Date: 2026-11-29 03:11:20.381239
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel
import fangpin_common.db


revision: str = '5a7eb011d335'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = "common_0001"  # the shared tables


def upgrade() -> None:
    # The shared tables (outbox, dead letters, …) come from the common branch (depends_on).
    pass


def downgrade() -> None:
    # The shared tables (outbox, dead letters, …) come from the common branch (depends_on).
    pass
