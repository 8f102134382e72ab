"""Signing keys: the private half never leaves the console's database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field

from fangpin_common.db import UTCDateTime
from fangpin_console.base import Base


class SigningKeyRow(Base, table=True):
    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    private_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Set when a newer key took over: published until retired_at + the grace period.
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
