from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.auth import ensure_reach
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Year
from fangpin_employment.assistance import service
from fangpin_employment.assistance.models import ItemCreate, ItemRead, Ledger
from fangpin_employment.deps import SCOPED, Editor, PolicyDep
from fangpin_employment.labourers import service as labourers

router = APIRouter(prefix="/api/v1", tags=["251 assistance"], dependencies=SCOPED)


@router.post("/labourers/{labourer_id}/assistance-items", status_code=201,
             response_model=ItemRead)
async def record_item(labourer_id: str, body: ItemCreate, session: SessionDep,
                      principal: Editor, policy: PolicyDep, clock: ClockDep) -> ItemRead:
    """One "251" service item (a job recommendation, a policy contact, a training referral)."""
    item = await service.record_item(session, labourer_id, body, principal, policy, clock)
    labels = {p.kind: p.label for p in policy.service_package}
    return ItemRead(**item.model_dump(), label=labels[item.kind])


@router.get("/labourers/{labourer_id}/assistance", response_model=Ledger)
async def ledger(labourer_id: str, session: SessionDep, principal: PrincipalDep,
                 policy: PolicyDep, clock: ClockDep, year: Year | None = None) -> Ledger:
    """The labourer's ledger with the DERIVED 是否开展"251" and 是否有台账."""
    today = clock.today()
    year = year or today.year
    as_of = min(today, today.replace(year=year, month=12, day=31))
    return await service.ledger(session, labourer_id, principal, policy, year, as_of)


@router.get("/assistance/ledger")
async def village_ledger(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                         policy: PolicyDep, clock: ClockDep, township: str,
                         village: str | None = None, year: Year | None = None) -> list[dict]:
    """The helpers' ledgers as the village keeps them."""
    code = labourers.query_township(county, township)
    if principal.role == "village":
        village = principal.village
    ensure_reach(principal, code, village)
    today = clock.today()
    return await service.village_ledger(session, code, village, year or today.year, today,
                                        policy)
