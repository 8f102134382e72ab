from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Year
from fangpin_employment.deps import SCOPED, TownshipOrCounty
from fangpin_employment.posts import service
from fangpin_employment.posts.models import (
    HolderAssign,
    HolderExit,
    HoldingRead,
    PostCreate,
    PostRead,
)

router = APIRouter(prefix="/api/v1/posts", tags=["public-welfare posts"], dependencies=SCOPED)


@router.post("", status_code=201, response_model=PostRead)
async def create_post(body: PostCreate, session: SessionDep, principal: TownshipOrCounty,
                      county: CountyDep, clock: ClockDep) -> PostRead:
    post = await service.create_post(session, body, principal, county, clock)
    return PostRead(**post.model_dump(), holders=0)


@router.get("", response_model=list[PostRead])
async def list_posts(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                     township: str | None = None, year: Year | None = None) -> list[PostRead]:
    """Posts with their quota and current holders (quota use)."""
    return await service.list_posts(session, principal, county, township, year)


@router.post("/{post_id}/holders", status_code=201, response_model=HoldingRead)
async def assign(post_id: str, body: HolderAssign, session: SessionDep,
                 principal: TownshipOrCounty, clock: ClockDep) -> HoldingRead:
    return HoldingRead(**(await service.assign(session, post_id, body, principal,
                                               clock)).model_dump())


@router.get("/{post_id}/holders", response_model=list[HoldingRead])
async def holdings(post_id: str, session: SessionDep, principal: PrincipalDep) -> list[HoldingRead]:
    return [HoldingRead(**h.model_dump()) for h in await service.holdings(session, post_id,
                                                                          principal)]


@router.post("/holders/{holding_id}/exit", response_model=HoldingRead)
async def exit_post(holding_id: str, body: HolderExit, session: SessionDep,
                    principal: TownshipOrCounty, clock: ClockDep) -> HoldingRead:
    return HoldingRead(**(await service.exit_post(session, holding_id, body, principal,
                                                  clock)).model_dump())
