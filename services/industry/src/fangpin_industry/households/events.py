"""What the households package emits."""

from __future__ import annotations

from fangpin_common.events.industry import HouseholdMeasureRecorded, MeasureRecordedData
from fangpin_industry.households.models import HouseholdView, Measure


def measure_recorded(household: HouseholdView, measure: Measure, now) -> HouseholdMeasureRecorded:
    return HouseholdMeasureRecorded(subject=household.id, time=now, data=MeasureRecordedData(
        measure_id=measure.id, household_id=household.id, township=household.township,
        village=household.village, measure_type=measure.measure_type,
        granted_on=measure.granted_on, project_id=measure.project_id))
