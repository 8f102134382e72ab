"""People (accounts, in units of the county directory) and API clients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

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


# -- API shapes ---------------------------------------------------------------------------------
class AccountCreate(SQLModel):
    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=64)
    units: list[str] = Field(min_length=1, max_length=4)
    is_admin: bool = False


class AccountRead(SQLModel):
    id: str
    username: str
    display_name: str
    units: list[str]
    is_admin: bool
    disabled: bool
    must_change_password: bool
    locked_until: datetime | None
    created_at: datetime
    last_sign_in_at: datetime | None


class AccountCreated(AccountRead):
    # Shown once: the person signs in with it and must change it at once.
    one_time_password: str


class PasswordReset(SQLModel):
    account_id: str
    one_time_password: str


class ClientCreate(SQLModel):
    client_id: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    # A department unit of the directory; none for the provincial platform.
    unit: str | None = Field(default=None, max_length=64)


class ClientRead(SQLModel):
    id: str
    client_id: str
    name: str
    role: str
    unit: str | None
    disabled: bool
    created_at: datetime
    last_used_at: datetime | None


class ClientCreated(ClientRead):
    client_secret: str  # shown once
