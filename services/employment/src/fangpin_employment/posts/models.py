"""Public-welfare posts (公益性岗位, E2): the quota, holders, and exits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Fen
from fangpin_employment.base import Base

PostKind = Literal["乡村公益性岗位", "乡村建设公益性岗位", "其他公益性岗位"]


class Post(Base, table=True):
    __tablename__ = "welfare_posts"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    kind: str = Field(max_length=20)
    township: str = Field(index=True, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    year: int
    quota: int
    monthly_subsidy_fen: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PostHolding(Base, table=True):
    __tablename__ = "welfare_post_holdings"
    __table_args__ = (Index("ix_welfare_post_holdings_post", "post_id", "end_on"),)

    id: str = Field(primary_key=True, max_length=36)
    post_id: str = Field(max_length=36)
    labourer_id: str = Field(index=True, max_length=64)
    start_on: date
    end_on: date | None = None
    exit_reason: str | None = Field(default=None, max_length=100)
    justification: str | None = Field(default=None, max_length=200)


class PostCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    kind: PostKind = "乡村公益性岗位"
    township: str = Field(max_length=32)
    village: str | None = Field(default=None, max_length=64)
    year: int = Field(ge=2000, le=2100)
    quota: int = Field(ge=1, le=10000, description="自治区下达的岗位数")
    monthly_subsidy_fen: Fen = Field(default=0, ge=0)


class HolderAssign(SQLModel):
    labourer_id: str = Field(min_length=1, max_length=64)
    start_on: Day
    justification: str | None = Field(
        default=None, max_length=200,
        description="安置非弱劳力、半劳力人员时须说明（如其他就业困难情形）")


class HolderExit(SQLModel):
    end_on: Day
    reason: str = Field(min_length=1, max_length=100)


class PostRead(SQLModel):
    id: str
    name: str
    kind: str
    township: str
    village: str | None
    year: int
    quota: int
    monthly_subsidy_fen: int
    holders: int


class HoldingRead(SQLModel):
    id: str
    post_id: str
    labourer_id: str
    start_on: date
    end_on: date | None
    exit_reason: str | None
