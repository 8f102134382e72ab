"""Events published by the industry service (stream FANGPIN_INDUSTRY)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fangpin_common.events.envelope import CloudEvent, DeadlineData, EventData, register


class TargetReportedData(EventData):
    target: str
    period: str
    unit: str
    # Decimal as text: exact, whatever the reader's language does with floats.
    value: str
    revision: int


@register
class TargetReported(CloudEvent):
    """A responsible unit reported progress on a county production target (I1)."""

    type: Literal["fangpin.industry.target.reported"] = "fangpin.industry.target.reported"
    data: TargetReportedData


class MeasureRecordedData(EventData):
    measure_id: str
    household_id: str
    township: str
    village: str
    measure_type: str
    granted_on: date
    project_id: str | None = None


@register
class HouseholdMeasureRecorded(CloudEvent):
    """An industry assistance measure was delivered to a 脱贫 household (I2)."""

    type: Literal["fangpin.industry.household.measure_recorded"] = (
        "fangpin.industry.household.measure_recorded"
    )
    data: MeasureRecordedData


class ProjectAdmittedData(EventData):
    project_id: str
    project_name: str
    township: str
    village: str | None = None
    category: str
    linkage_modes: list[str]
    linkage_model: str
    total_fen: int
    responsible_unit: str


@register
class ProjectAdmitted(CloudEvent):
    """A project entered the project library with its farmer linkage stated (I3)."""

    type: Literal["fangpin.industry.project.admitted"] = "fangpin.industry.project.admitted"
    data: ProjectAdmittedData


class ProjectFlaggedData(EventData):
    flag_id: str
    project_id: str
    project_name: str
    township: str
    village: str | None = None
    flag: str
    source: str
    reason: str
    raised_on: date
    due_on: date
    responsible_unit: str


@register
class ProjectFlagged(CloudEvent):
    """A project got a problem flag (建而不成 / 成而不用 / 用而不好), once per occurrence."""

    type: Literal["fangpin.industry.project.flagged"] = "fangpin.industry.project.flagged"
    data: ProjectFlaggedData


class ProjectFlagClearedData(EventData):
    flag_id: str
    project_id: str
    project_name: str
    township: str
    village: str | None = None
    flag: str
    cleared_on: date
    late: bool
    responsible_unit: str


@register
class ProjectFlagCleared(CloudEvent):
    """A project's problem flag was cleared after rectification."""

    type: Literal["fangpin.industry.project.flag_cleared"] = (
        "fangpin.industry.project.flag_cleared"
    )
    data: ProjectFlagClearedData


class AssetRegisteredData(EventData):
    asset_id: str
    project_id: str
    township: str
    village: str | None = None
    owner: str
    value_fen: int
    registered_on: date


@register
class ProjectAssetRegistered(CloudEvent):
    """A project's asset was registered into the collective assets (I3)."""

    type: Literal["fangpin.industry.project.asset_registered"] = (
        "fangpin.industry.project.asset_registered"
    )
    data: AssetRegisteredData


@register
class ProjectFixDueSoon(CloudEvent):
    """A flagged project's rectification deadline is near (deadline ledger)."""

    type: Literal["fangpin.industry.project.fix_due_soon"] = (
        "fangpin.industry.project.fix_due_soon"
    )
    data: DeadlineData


@register
class ProjectFixOverdue(CloudEvent):
    """A flagged project was not rectified in time (deadline ledger)."""

    type: Literal["fangpin.industry.project.fix_overdue"] = "fangpin.industry.project.fix_overdue"
    data: DeadlineData
