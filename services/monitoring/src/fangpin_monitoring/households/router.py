from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from fangpin_common import audit, revisions
from fangpin_common.auth import Principal, projected, require_roles
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Offset
from fangpin_monitoring.households import service
from fangpin_monitoring.households.models import HouseholdCreate, HouseholdRead, HouseholdUpdate

router = APIRouter(prefix="/api/v1/households", tags=["households"])
Editor = Annotated[Principal, Depends(require_roles("county", "township", "village", "platform"))]


@router.post("", status_code=201, response_model=HouseholdRead)
async def create_household(body: HouseholdCreate, session: SessionDep, principal: Editor,
                           county: CountyDep, clock: ClockDep,
                           response: Response) -> HouseholdRead:
    # The caller sent these values: echoing them back discloses nothing (no full-read entry).
    household, members = await service.create_household(session, body, principal, county, clock)
    revisions.set_etag(response, household.revision)
    return service.to_read(household, members, principal)


@router.put("/{household_id}", response_model=HouseholdRead)
async def update_household(household_id: str, body: HouseholdUpdate, session: SessionDep,
                           principal: Editor, county: CountyDep, clock: ClockDep,
                           if_match: revisions.IfMatch, response: Response) -> HouseholdRead:
    """A full replacement, based on the revision read (If-Match or `revision`): 412 if the
    household changed since, 428 if neither is sent."""
    expected = revisions.expected_revision(if_match, body.revision)
    household, members = await service.update_household(session, household_id, body, principal,
                                                        county, clock, expected)
    revisions.set_etag(response, household.revision)
    return service.to_read(household, members, principal)


@router.get("/{household_id}", response_model=HouseholdRead)
async def get_household(household_id: str, session: SessionDep, principal: PrincipalDep,
                        response: Response):
    household, members = await service.get_household(session, household_id, principal)
    await audit.full_read(session, principal, "household", [household.id])
    revisions.set_etag(response, household.revision)
    return projected(principal, "households", service.to_read(household, members, principal))


@router.get("", response_model=list[HouseholdRead])
async def list_households(session: SessionDep, principal: PrincipalDep,
                          township: str | None = None, village: str | None = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100,
                          offset: Offset = 0):
    households = await service.list_households(session, principal, township, village, limit,
                                               offset)
    members = await service.members_of(session, [h.id for h in households])
    await audit.full_read(session, principal, "household", [h.id for h in households])
    return projected(principal, "households",
                     [service.to_read(h, members[h.id], principal) for h in households])
