"""People (accounts, in units of the county directory) and API clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field

from fangpin_common.db import UTCDateTime
from fangpin_common.ids import new_id
from fangpin_console.base import Base


class Account(Base, table=True):
    __tablename__ = "accounts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=64)
    # Units of the directory the person belongs to; the first is the default at sign-in. More
    # than one only in the combinations the county allows (rules.units_allowed).
    units: list[str] = Field(sa_column=Column(JSON, nullable=False))
    is_admin: bool = False  # may manage accounts, clients, sessions and keys
    password_hash: str = Field(max_length=255)
    must_change_password: bool = True
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Locked by an administrator until unlocked (a person who left, a lost phone).
    disabled: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiClient(Base, table=True):
    """A machine caller (the provincial platform, a department's system): client credentials."""

    __tablename__ = "api_clients"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    client_id: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=100)
    role: str = Field(max_length=20)  # platform, or the role of its unit
    unit: str | None = Field(default=None, max_length=64)
    secret_hash: str = Field(max_length=255)
    disabled: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
