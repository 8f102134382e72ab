from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.types import Day
from fangpin_industry.access import AreaUser, IndustryDep
from fangpin_industry.households import service
from fangpin_industry.households.models import (
    CoverageReport,
    GapRead,
    HouseholdIndustryRead,
    IndustryUpdate,
    MeasureCreate,
    MeasureRead,
)
from fangpin_industry.households.rules import is_effective
from fangpin_industry.specialties.service import resolve_township

router = APIRouter(prefix="/api/v1", tags=["household industry assistance"])
AsOf = Annotated[Day | None, Query(description="统计日期，默认今天")]


@router.get("/households/{household_id}/industry", response_model=HouseholdIndustryRead)
async def get_household(household_id: str, session: SessionDep, principal: AreaUser,
                        config: IndustryDep, clock: ClockDep) -> HouseholdIndustryRead:
    household = await service.get_household(session, household_id, principal, config)
    return await service.read_household(session, household, config, clock.today())


@router.put("/households/{household_id}/industry", response_model=HouseholdIndustryRead)
async def set_industries(household_id: str, body: IndustryUpdate, session: SessionDep,
                         principal: AreaUser, config: IndustryDep,
                         clock: ClockDep) -> HouseholdIndustryRead:
    household = await service.set_industries(session, household_id, body, principal, config,
                                             clock)
    return await service.read_household(session, household, config, clock.today())


@router.post("/households/{household_id}/measures", status_code=201, response_model=MeasureRead)
async def record_measure(household_id: str, body: MeasureCreate, session: SessionDep,
                         principal: AreaUser, config: IndustryDep,
                         clock: ClockDep) -> MeasureRead:
    m = await service.record_measure(session, household_id, body, principal, config, clock)
    return MeasureRead(**m.model_dump(), effective=is_effective(m.granted_on, m.ends_on,
                                                                clock.today()))


@router.get("/industry-coverage", response_model=CoverageReport)
async def coverage(session: SessionDep, principal: AreaUser, county: CountyDep,
                   config: IndustryDep, clock: ClockDep, township: str | None = None,
                   as_of: AsOf = None) -> CoverageReport:
    code = resolve_township(county, township, "township", "query") if township else None
    return await service.coverage(session, principal, county, config, code,
                                  as_of or clock.today())


@router.get("/industry-coverage/gaps", response_model=list[GapRead])
async def gaps(session: SessionDep, principal: AreaUser, county: CountyDep, config: IndustryDep,
               clock: ClockDep, township: str | None = None,
               as_of: AsOf = None) -> list[GapRead]:
    code = resolve_township(county, township, "township", "query") if township else None
    return await service.gaps(session, principal, county, config, code, as_of or clock.today())
