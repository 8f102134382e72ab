"""What the households package emits."""

from __future__ import annotations

from fangpin_common.events.monitoring import (
    HouseholdUpserted,
    HouseholdUpsertedData,
    MemberSnapshot,
)
from fangpin_monitoring.households.models import Household, Member


def household_upserted(household: Household, members: list[Member], now) -> HouseholdUpserted:
    head = next((m for m in members if m.relation == "户主"), members[0])
    return HouseholdUpserted(
        subject=household.id,
        time=now,
        data=HouseholdUpsertedData(
            household_id=household.id,
            township=household.township,
            village=household.village,
            category=household.category,
            monitoring_subcategory=household.monitoring_subcategory,
            head_name=head.name,
            revision=household.revision,
            members=[
                MemberSnapshot(
                    member_id=m.id, name=m.name, sex=m.sex, birth_date=m.birth_date,
                    relation=m.relation, labour_capacity=m.labour_capacity,
                    in_school=m.in_school, deceased=m.deceased,
                )
                for m in members
            ],
        ),
    )
