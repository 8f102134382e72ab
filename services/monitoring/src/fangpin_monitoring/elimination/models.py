"""Risk assessments (风险评估) and risk-elimination procedures (风险消除), M9."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Count, Day
from fangpin_monitoring.base import Base

Step = Literal["home_verification", "village_review", "public_notice", "township_review",
               "county_approval"]


class RiskAssessment(Base, table=True):
    __tablename__ = "risk_assessments"

    id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=64)
    assessed_on: date
    assessed_by: str = Field(max_length=100)
    conclusion: str = Field(max_length=24)
    rigid_expenses_resolved: bool
    food_clothing_secure: bool
    compulsory_education_secure: bool
    basic_medical_secure: bool
    housing_secure: bool
    drinking_water_secure: bool
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    late: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Elimination(Base, table=True):
    __tablename__ = "eliminations"

    id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=64)
    status: str = Field(default="in_progress", max_length=16)  # → approved | rejected
    next_step: str | None = Field(default="home_verification", max_length=32)
    started_on: date
    started_by: str = Field(max_length=100)
    concluded_on: date | None = None
    rejected_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class EliminationStep(Base, table=True):
    __tablename__ = "elimination_steps"
    __table_args__ = (UniqueConstraint("elimination_id", "step"),)

    id: str = Field(primary_key=True, max_length=36)
    elimination_id: str = Field(foreign_key="eliminations.id", index=True, max_length=36)
    step: str = Field(max_length=32)
    outcome: str = Field(max_length=8)
    done_on: date
    actor: str = Field(max_length=100)
    actor_role: str = Field(max_length=20)
    actor_unit: str | None = Field(default=None, max_length=64)
    people: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class AssessmentCreate(SQLModel):
    assessed_on: Day | None = Field(default=None, description="默认为今天")
    conclusion: Literal["continue", "propose_elimination"] = Field(
        description="continue 继续监测帮扶 / propose_elimination 拟风险消除")
    rigid_expenses_resolved: bool = Field(description="大病、就学等大额刚性支出已解决")
    food_clothing_secure: bool = Field(description="不愁吃、不愁穿")
    compulsory_education_secure: bool = Field(description="义务教育有保障")
    basic_medical_secure: bool = Field(description="基本医疗有保障")
    housing_secure: bool = Field(description="住房安全有保障")
    drinking_water_secure: bool = Field(description="饮水安全有保障")
    note: str | None = Field(default=None, max_length=2000)


class AssessmentRead(SQLModel):
    id: str
    case_id: str
    assessed_on: date
    conclusion: str
    rigid_expenses_resolved: bool
    food_clothing_secure: bool
    compulsory_education_secure: bool
    basic_medical_secure: bool
    housing_secure: bool
    drinking_water_secure: bool
    note: str | None
    late: bool


class EliminationStart(SQLModel):
    started_on: Day | None = Field(default=None, description="默认为今天")
    note: str | None = Field(default=None, max_length=2000)


class Objection(SQLModel):
    content: str = Field(min_length=1, max_length=1000)
    resolution: str | None = Field(default=None, max_length=1000, description="调查核实处理结果")


class EliminationStepRecord(SQLModel):
    step: Step
    outcome: Literal["pass", "reject"] = "pass"
    done_on: Day | None = Field(default=None, description="默认为今天")
    people: list[str] = Field(default_factory=list, max_length=20, description="办理人员")
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=1000, description="不通过的原因")
    votes_for: Count | None = Field(default=None, ge=0)
    votes_against: Count | None = Field(default=None, ge=0)
    notice_start: Day | None = None
    notice_end: Day | None = None
    objections: list[Objection] = Field(default_factory=list, max_length=50)


class EliminationStepRead(SQLModel):
    step: str
    step_name: str
    outcome: str
    done_on: date
    actor: str
    actor_role: str
    people: list[str]
    note: str | None
    details: dict[str, Any]


class EliminationRead(SQLModel):
    id: str
    case_id: str
    status: str
    next_step: str | None
    next_step_name: str | None
    started_on: date
    concluded_on: date | None
    rejected_reason: str | None
    steps: list[EliminationStepRead]
