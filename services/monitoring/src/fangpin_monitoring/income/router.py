from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_monitoring.income import service
from fangpin_monitoring.income.models import (
    CollectionRound,
    CollectionRoundRead,
    HouseholdIncomeRead,
    IncomeMonth,
    LedgerRow,
)

router = APIRouter(prefix="/api/v1/income", tags=["income"])
Worker = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
County_ = Annotated[Principal, Depends(require_roles("county"))]
# Key-household lists go to townships and to the departments that help them (M6).
LedgerReader = Annotated[Principal, Depends(require_roles("county", "township", "village",
                                                          "department"))]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


@router.put("/households/{household_id}/months/{period}", response_model=HouseholdIncomeRead)
async def record_month(household_id: str, period: str, body: IncomeMonth, session: SessionDep,
                       principal: Worker, county: CountyDep,
                       clock: ClockDep) -> HouseholdIncomeRead:
    """One month's income by source (replaces what was recorded for that month)."""
    await service.record_month(session, household_id, period, body, principal, clock)
    return await service.household_income(session, household_id, int(period[:4]), principal,
                                          county)


@router.get("/households/{household_id}", response_model=HouseholdIncomeRead)
async def household_income(household_id: str, session: SessionDep, principal: Worker,
                           county: CountyDep, clock: ClockDep,
                           year: Year = None) -> HouseholdIncomeRead:
    return await service.household_income(session, household_id, year or clock.today().year,
                                          principal, county)


@router.get("/ledger", response_model=list[LedgerRow])
async def ledger(session: SessionDep, principal: LedgerReader, county: CountyDep, clock: ClockDep,
                 year: Year = None, township: str | None = None) -> list[LedgerRow]:
    """The income-growth ledger per township: below the line, income fell, relocated."""
    return await service.ledger(session, principal, county, year or clock.today().year, township)


@router.post("/collection-rounds", status_code=201, response_model=CollectionRoundRead)
async def open_round(body: CollectionRound, session: SessionDep, principal: County_,
                     county: CountyDep, clock: ClockDep) -> CollectionRoundRead:
    """Open the month's collection: a deadline for every household on the ledger."""
    return await service.open_collection_round(session, body.period, principal, county, clock)
