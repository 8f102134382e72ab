"""Events published by the employment service (stream FANGPIN_EMPLOYMENT)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fangpin_common.events.envelope import CloudEvent, DeadlineData, EventData, register


# -- work information (E4): one deadline per labourer per quarter -----------------------------
@register
class WorkInfoDueSoon(CloudEvent):
    """A labourer's work information for the quarter is not yet verified; the quarter ends soon."""

    type: Literal["fangpin.employment.work_info.due_soon"] = (
        "fangpin.employment.work_info.due_soon")
    data: DeadlineData


@register
class WorkInfoOverdue(CloudEvent):
    """The quarter ended without the labourer's work information verified with the household."""

    type: Literal["fangpin.employment.work_info.overdue"] = "fangpin.employment.work_info.overdue"
    data: DeadlineData


class WorkInfoSharedData(EventData):
    share_id: str
    year: int
    quarter: int
    work_records: int
    key_group_members: int
    townships: list[str]
    shared_on: date


@register
class WorkInfoShared(CloudEvent):
    """Last quarter's work information and key-group lists were shared with the HR bureau (E6)."""

    type: Literal["fangpin.employment.work_info.shared"] = "fangpin.employment.work_info.shared"
    data: WorkInfoSharedData


# -- returnees (E5) ------------------------------------------------------------------------------
class WorkerReturnedHomeData(EventData):
    return_id: str
    labourer_id: str
    household_id: str | None = None
    township: str
    village: str
    previous_location_type: str
    back_since: date
    qualified_on: date


@register
class WorkerReturnedHome(CloudEvent):
    """A labourer who worked outside the county has been back home for more than a month."""

    type: Literal["fangpin.employment.worker.returned_home"] = (
        "fangpin.employment.worker.returned_home")
    data: WorkerReturnedHomeData


@register
class ReturneeAssistanceDueSoon(CloudEvent):
    """A returnee still awaits the "251" employment assistance package; its deadline is near."""

    type: Literal["fangpin.employment.returnee.assistance_due_soon"] = (
        "fangpin.employment.returnee.assistance_due_soon")
    data: DeadlineData


@register
class ReturneeAssistanceOverdue(CloudEvent):
    """A returnee did not get the "251" employment assistance package in time."""

    type: Literal["fangpin.employment.returnee.assistance_overdue"] = (
        "fangpin.employment.returnee.assistance_overdue")
    data: DeadlineData


# -- the monthly form (E5, annex 2 of the plan) ---------------------------------------------------
@register
class FormDueSoon(CloudEvent):
    """The monthly form 未转移就业脱贫劳动力就业情况统计表 is due soon (townships: the 3rd,
    the county: the 5th)."""

    type: Literal["fangpin.employment.form.due_soon"] = "fangpin.employment.form.due_soon"
    data: DeadlineData


@register
class FormOverdue(CloudEvent):
    """The monthly form was not submitted by its day of the month."""

    type: Literal["fangpin.employment.form.overdue"] = "fangpin.employment.form.overdue"
    data: DeadlineData


class FormSubmittedData(EventData):
    submission_id: str
    level: Literal["township", "county"]
    township: str | None = None
    period: str
    version: int
    rows: int
    submitted_on: date
    late: bool


@register
class FormSubmitted(CloudEvent):
    """A township (or the county) submitted the monthly form; the history keeps every version."""

    type: Literal["fangpin.employment.form.submitted"] = "fangpin.employment.form.submitted"
    data: FormSubmittedData


# -- jobs (E5, E11) --------------------------------------------------------------------------------
class JobsPublishedData(EventData):
    posting_id: str
    kind: str
    title: str
    employer: str
    positions: int
    townships: list[str]
    villages: list[str]
    published_on: date
    closes_on: date | None = None


@register
class JobsPublished(CloudEvent):
    """Job postings (enterprise, gig or internship) pushed to townships and villages."""

    type: Literal["fangpin.employment.jobs.published"] = "fangpin.employment.jobs.published"
    data: JobsPublishedData
