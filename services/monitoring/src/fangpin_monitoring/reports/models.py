"""The monitoring report (M13): per township, per village and the county, for a period."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class DeadlineCounts(SQLModel):
    """The period's deadlines of one kind (by due date), as of the report day."""

    kind: str
    kind_name: str
    met_on_time: int = 0
    met_late: int = 0
    open_overdue: int = 0
    open_not_due: int = 0


class ReportRow(SQLModel):
    level: str = Field(description="township 乡镇 | village 村 | county 全县")
    township: str | None = Field(default=None, description="乡镇代码")
    township_name: str | None = None
    village: str | None = None
    # Visits: the month's grid-visit deadlines (as /api/v1/visits/coverage counts them).
    visits_due: int = Field(default=0, description="应走访户数（多月时为户次）")
    visits_done: int = Field(default=0, description="已走访户数")
    visit_coverage: float | None = Field(default=None, description="走访覆盖率（0–1）")
    # Warnings raised in the period, and what has become of them by the report day.
    warnings_raised: int = 0
    warnings_verified: int = 0
    warnings_included: int = 0
    warnings_dismissed: int = 0
    warnings_pending: int = 0
    warnings_overdue: int = Field(default=0, description="待核实且已过核实期限")
    verification_days_avg: float | None = None
    verification_days_median: float | None = None
    verification_days_max: int | None = None
    verification_days_total: int = Field(default=0, exclude=True)
    # Procedures and open cases on the report day.
    identifications_in_progress: int = 0
    cases_open: int = 0
    cases_elimination_in_progress: int = 0
    cases_awaiting_helper: int = 0
    cases_awaiting_plan: int = 0
    cases_assessment_due: int = 0
    cases_assisted: int = 0
    # Data quality (M10) on the report day: items a run found and nobody has fixed or explained.
    anomalies_open: int = Field(default=0, description="数据质量问题（未整改）")
    anomalies_explained: int = Field(default=0, description="数据质量问题（已说明）")
    deadlines: list[DeadlineCounts] = Field(default_factory=list)


# What a township's or the county's row sums from its villages.
COUNT_FIELDS = ("visits_due", "visits_done", "warnings_raised", "warnings_included",
                "warnings_dismissed", "warnings_pending", "warnings_overdue",
                "identifications_in_progress", "cases_elimination_in_progress",
                "cases_awaiting_helper", "cases_awaiting_plan", "cases_assessment_due",
                "cases_assisted", "anomalies_open", "anomalies_explained")


class MonitoringReport(SQLModel):
    period: str
    period_from: date
    period_to: date
    as_of: date = Field(description="统计日（期限、待核实和监测对象状态以此日为准）")
    rows: list[ReportRow] = Field(description="每个乡镇一行，其下各村各一行")
    total: ReportRow
