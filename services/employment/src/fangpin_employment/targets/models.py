"""Transfer-employment targets (E1): the plan's table as given, and progress against it."""

from __future__ import annotations

from sqlmodel import SQLModel


class TargetRead(SQLModel):
    township: str
    township_name: str
    general: int
    poverty_alleviated: int
    total: int


class TargetTable(SQLModel):
    year: int
    townships: list[TargetRead]
    total: TargetRead | None


class ProgressRow(SQLModel):
    township: str | None
    township_name: str
    target_general: int | None
    target_poverty: int | None
    target_total: int | None
    transferred_general: int
    transferred_poverty: int
    transferred_total: int
    progress_total: str | None  # percent, one decimal, e.g. "37.5"
    progress_poverty: str | None
    stable_poverty: int
    stable_2023: int | None
    stable_vs_2023: int | None


class Progress(SQLModel):
    year: int
    rows: list[ProgressRow]
