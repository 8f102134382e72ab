from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Day
from fangpin_employment.deps import SCOPED, Editor, PolicyDep
from fangpin_employment.returnees import service
from fangpin_employment.returnees.models import (
    GraduateCreate,
    KeyGroupMemberRead,
    OutcomeSet,
    ReturnCreate,
    ReturnLeft,
    ReturnRead,
)

router = APIRouter(prefix="/api/v1", tags=["returnees and key groups"], dependencies=SCOPED)


@router.post("/returns", status_code=201, response_model=ReturnRead)
async def report_return(body: ReturnCreate, session: SessionDep, principal: Editor,
                        policy: PolicyDep, clock: ClockDep) -> ReturnRead:
    """A labourer who worked outside the county is back home (since `back_since`)."""
    row = await service.report_return(session, body, principal, policy, clock)
    return ReturnRead(**row.model_dump())


@router.post("/returns/{return_id}/left", response_model=ReturnRead)
async def left_again(return_id: str, body: ReturnLeft, session: SessionDep, principal: Editor,
                     clock: ClockDep) -> ReturnRead:
    row = await service.left_again(session, return_id, body, principal, clock)
    return ReturnRead(**row.model_dump())


@router.get("/returns", response_model=list[ReturnRead])
async def list_returns(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                       township: str | None = None, state: str | None = None) -> list[ReturnRead]:
    rows = await service.list_returns(session, principal, county, township, state)
    return [ReturnRead(**r.model_dump()) for r in rows]


@router.get("/key-groups", response_model=list[KeyGroupMemberRead])
async def key_groups(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                     clock: ClockDep, township: str | None = None, group: str | None = None,
                     on: Day | None = None) -> list[KeyGroupMemberRead]:
    """Key-group members on a date (default today), with their assistance outcome."""
    return await service.list_members(session, principal, county, township, group,
                                      on or clock.today())


@router.post("/key-groups/graduates", status_code=201, response_model=KeyGroupMemberRead)
async def add_graduate(body: GraduateCreate, session: SessionDep, principal: Editor,
                       clock: ClockDep) -> KeyGroupMemberRead:
    member = await service.add_graduate(session, body, principal, clock)
    return KeyGroupMemberRead(**member.model_dump())


@router.put("/key-groups/{member_id}/outcome", response_model=KeyGroupMemberRead)
async def set_outcome(member_id: str, body: OutcomeSet, session: SessionDep, principal: Editor,
                      clock: ClockDep) -> KeyGroupMemberRead:
    member = await service.set_outcome(session, member_id, body, principal, clock)
    return KeyGroupMemberRead(**member.model_dump())
