"""Public-welfare posts applied to the database. Never commits."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_employment.labourers import service as labourers
from fangpin_employment.posts import rules
from fangpin_employment.posts.models import (
    HolderAssign,
    HolderExit,
    Post,
    PostCreate,
    PostHolding,
    PostRead,
)
from fangpin_employment.returnees import service as returnees


def _raise_first(problems: list[tuple[str, str]]) -> None:
    for field, reason in problems:
        raise DomainError(field, reason, "invalid")


async def create_post(session: AsyncSession, body: PostCreate, principal: Principal,
                      county: County, clock: Clock) -> Post:
    township = labourers.resolve_township(county, body.township)
    ensure_reach(principal, township)
    post = Post(id=new_id(), created_at=clock.now(),
                **(body.model_dump() | {"township": township}))
    await audit.added(session, principal, post, entity_type="welfare_post", now=clock.now())
    return post


async def _post(session: AsyncSession, post_id: str, principal: Principal) -> Post:
    post = await session.get(Post, post_id)
    if post is None:
        raise NotFound(f"公益性岗位 {post_id} 不存在")
    ensure_reach(principal, post.township)
    return post


async def holders(session: AsyncSession, post_id: str) -> int:
    return (await session.execute(select(func.count()).select_from(PostHolding).where(
        PostHolding.post_id == post_id, PostHolding.end_on.is_(None)))).scalar_one()


async def assign(session: AsyncSession, post_id: str, body: HolderAssign, principal: Principal,
                 clock: Clock) -> PostHolding:
    post = await _post(session, post_id, principal)
    labourer = await labourers.get_labourer(session, body.labourer_id, principal, "labourer_id")
    holding_now = (await session.execute(select(PostHolding.id).where(
        PostHolding.labourer_id == labourer.id, PostHolding.end_on.is_(None)))).first()
    _raise_first(rules.holder_problems(
        labour_capacity=labourer.labour_capacity, justification=body.justification,
        holders=await holders(session, post.id), quota=post.quota, start_on=body.start_on,
        today=clock.today(), already_holding=holding_now is not None))
    row = PostHolding(id=new_id(), post_id=post.id, labourer_id=labourer.id,
                      start_on=body.start_on, justification=body.justification)
    await audit.added(session, principal, row, entity_type="welfare_post", action="assign",
                      entity_id=post.id, now=clock.now())
    return row


async def exit_post(session: AsyncSession, holding_id: str, body: HolderExit,
                    principal: Principal, clock: Clock) -> PostHolding:
    """Leaving a post makes the person a key-group member (公益性岗位退出人员, E5)."""
    row = await session.get(PostHolding, holding_id)
    if row is None:
        raise NotFound(f"上岗记录 {holding_id} 不存在")
    await _post(session, row.post_id, principal)
    if row.end_on is not None:
        raise Conflict(f"上岗记录 {holding_id} 已于 {row.end_on} 退出")
    _raise_first(rules.exit_problems(end_on=body.end_on, start_on=row.start_on,
                                     today=clock.today()))
    row.end_on, row.exit_reason = body.end_on, body.reason
    session.add(row)
    labourer = await labourers.get_labourer(session, row.labourer_id, principal)
    await returnees.add_post_leaver(session, labourer, row.id, body.end_on, clock.now())
    await session.flush()
    await audit.record(session, principal, entity_type="welfare_post", entity_id=row.post_id,
                       action="exit", before=None, after=row.model_dump(mode="json"),
                       now=clock.now())
    return row


async def list_posts(session: AsyncSession, principal: Principal, county: County,
                     township: str | None, year: int | None) -> list[PostRead]:
    used = (select(PostHolding.post_id, func.count().label("n"))
            .where(PostHolding.end_on.is_(None)).group_by(PostHolding.post_id).subquery())
    query = (select(Post, func.coalesce(used.c.n, 0))
             .outerjoin(used, used.c.post_id == Post.id).order_by(Post.township, Post.name))
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(Post.township == code)
    elif principal.role in ("township", "village"):
        query = query.where(Post.township == principal.township)
    if year:
        query = query.where(Post.year == year)
    return [PostRead(**p.model_dump(), holders=n) for p, n in await session.execute(query)]


async def holdings(session: AsyncSession, post_id: str, principal: Principal) -> list[PostHolding]:
    await _post(session, post_id, principal)
    return list((await session.execute(select(PostHolding).where(
        PostHolding.post_id == post_id).order_by(PostHolding.start_on))).scalars())
