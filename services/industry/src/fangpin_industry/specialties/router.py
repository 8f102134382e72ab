from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_industry.access import AreaUser, IndustryDep
from fangpin_industry.specialties import service
from fangpin_industry.specialties.models import (
    SpecialtyList,
    VillageSpecialtyRead,
    VillageSpecialtyUpdate,
)

router = APIRouter(prefix="/api/v1/specialty-industries", tags=["specialty industries"])


@router.get("", response_model=SpecialtyList)
async def specialty_list(session: SessionDep, principal: AreaUser,
                         config: IndustryDep) -> SpecialtyList:
    return await service.specialty_list(session, principal, config)


@router.put("/villages/{township}/{village}", response_model=VillageSpecialtyRead)
async def set_village_list(township: str, village: str, body: VillageSpecialtyUpdate,
                           session: SessionDep, principal: AreaUser, county: CountyDep,
                           config: IndustryDep, clock: ClockDep) -> VillageSpecialtyRead:
    row = await service.set_village_list(session, township, village, body, principal, county,
                                         config, clock)
    return VillageSpecialtyRead(**row.model_dump())
