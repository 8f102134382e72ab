"""Sessions: a signed-in person's web session (cookie) or API session (refresh token). Its id
is the `sid` of every access token minted for it, so revoking it refuses those tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_console.base import Base


class Session(Base, table=True):
    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=43)  # random; public as the tokens' sid
    account_id: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=8)  # web | api
    # SHA-256 of the cookie value or refresh token (the secret itself is never stored).
    secret_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=43)
    unit: str = Field(max_length=64)  # the unit the person acts for in this session
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=32)
    client_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


class SessionRead(SQLModel):
    id: str
    account_id: str
    kind: str
    unit: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    client_address: str | None
    user_agent: str | None
