"""The directory: units, the people in them and how to reach them.

The county file's `units:` (and the township and village governments derived from it) seed it;
edits through the API persist and win over the seed from then on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Revision
from fangpin_notifications.base import Base

Level = Literal["county", "department", "township", "village", "paired"]


class DirectoryUnit(Base, table=True):
    __tablename__ = "directory_units"
    __table_args__ = (Index("ix_directory_units_parent", "parent"),)

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    # county bureau, department, township government, village committee, paired assistance unit
    level: str = Field(max_length=16)
    parent: str | None = Field(default=None, max_length=64)
    township: str | None = Field(default=None, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=20)
    wecom_webhook: str | None = Field(default=None, max_length=500)
    dingtalk_webhook: str | None = Field(default=None, max_length=500)
    dingtalk_secret: str | None = Field(default=None, max_length=200)
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=200)
    active: bool = True
    # "config" rows follow the county file until someone edits them ("api" rows never do).
    source: str = Field(default="config", max_length=8)
    # No lost update (fangpin_common.revisions): moves on with every change, seed included.
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    edited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class DirectoryPerson(Base, table=True):
    __tablename__ = "directory_people"
    __table_args__ = (Index("ix_directory_people_unit", "unit_code"),)

    id: str = Field(primary_key=True, max_length=36)
    unit_code: str = Field(max_length=64)
    name: str = Field(max_length=50)
    title: str | None = Field(default=None, max_length=50)
    email: str | None = Field(default=None, max_length=200)
    mobile: str | None = Field(default=None, max_length=20)
    active: bool = True
    source: str = Field(default="config", max_length=8)
    # No lost update (fangpin_common.revisions): moves on with every change, seed included.
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    edited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))




class UnitContacts(SQLModel):
    """How a unit is reached; the names are CONTACT_FIELDS."""

    email: str | None = None
    mobile: str | None = None
    wecom_webhook: str | None = None
    dingtalk_webhook: str | None = None
    dingtalk_secret: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None


CONTACT_FIELDS = tuple(UnitContacts.model_fields)


class UnitCreate(UnitContacts):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    level: Level
    parent: str | None = None
    township: str | None = None
    village: str | None = None


class UnitUpdate(UnitContacts):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    level: Level | None = None
    parent: str | None = None
    township: str | None = None
    village: str | None = None
    active: bool | None = None
    revision: Revision | None = Field(default=None, description="所依据的版本（或用 If-Match）")


class PersonCreate(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    title: str | None = None
    email: str | None = None
    mobile: str | None = None


class PersonUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    title: str | None = None
    email: str | None = None
    mobile: str | None = None
    active: bool | None = None
    revision: Revision | None = Field(default=None, description="所依据的版本（或用 If-Match）")


class PersonRead(SQLModel):
    id: str
    unit_code: str
    name: str
    title: str | None
    email: str | None
    mobile: str | None
    active: bool
    source: str
    revision: int


class UnitRead(SQLModel):
    code: str
    name: str
    level: str
    parent: str | None
    township: str | None
    village: str | None
    email: str | None
    mobile: str | None
    wecom_webhook: str | None
    dingtalk_webhook: str | None
    webhook_url: str | None
    # Secrets are never shown, only whether one is set.
    has_dingtalk_secret: bool
    has_webhook_secret: bool
    active: bool
    source: str
    revision: int
    edited_at: datetime | None
    people: list[PersonRead] = []


class TestMessage(SQLModel):
    channel: Literal["email", "wecom", "dingtalk", "webhook", "sms"] = Field(
        description="email 邮件 / wecom 企业微信群机器人 / dingtalk 钉钉群机器人 / webhook / sms")


class TestResult(SQLModel):
    channel: str
    sent: bool
    status: str | None = None
    detail: str
