"""Workshops applied to the database. Never commits."""

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
from fangpin_employment.vocabulary import POVERTY_CATEGORIES
from fangpin_employment.workshops import rules
from fangpin_employment.workshops.models import (
    EmployeeAdd,
    EmployeeLeave,
    SubsidyAdd,
    Workshop,
    WorkshopCreate,
    WorkshopEmployee,
    WorkshopRead,
    WorkshopSubsidy,
    WorkshopUpdate,
)


async def create(session: AsyncSession, body: WorkshopCreate, principal: Principal,
                 county: County, clock: Clock) -> Workshop:
    township = labourers.resolve_township(county, body.township)
    ensure_reach(principal, township)
    if problem := rules.date_problem(body.established_on, clock.today(), label="成立日期"):
        raise DomainError("established_on", problem, "invalid_date")
    row = Workshop(id=new_id(), class_since=body.established_on, created_at=clock.now(),
                   **(body.model_dump() | {"township": township}))
    await audit.added(session, principal, row, entity_type="workshop", now=clock.now())
    return row


async def get(session: AsyncSession, workshop_id: str, principal: Principal) -> Workshop:
    row = await session.get(Workshop, workshop_id)
    if row is None:
        raise NotFound(f"就业帮扶车间 {workshop_id} 不存在")
    ensure_reach(principal, row.township)
    return row


async def update(session: AsyncSession, workshop_id: str, body: WorkshopUpdate,
                 principal: Principal, clock: Clock) -> Workshop:
    """Dynamic management (升级/扶持/新建/调整) and the liaison; the audit log keeps history."""
    row = await get(session, workshop_id, principal)
    before = row.model_dump(mode="json")
    on = body.on or clock.today()
    if problem := rules.date_problem(on, clock.today(), row.class_since, "调整日期"):
        raise DomainError("on", problem, "invalid_date")
    if body.management_class and body.management_class != row.management_class:
        row.management_class, row.class_since = body.management_class, on
    if body.liaison_name:
        row.liaison_name = body.liaison_name
    if body.liaison_unit is not None:
        row.liaison_unit = body.liaison_unit
    session.add(row)
    await session.flush()
    await audit.record(session, principal, entity_type="workshop", entity_id=row.id,
                       action="update", before=before, after=row.model_dump(mode="json"),
                       now=clock.now())
    return row


async def hire(session: AsyncSession, workshop_id: str, body: EmployeeAdd, principal: Principal,
               clock: Clock) -> WorkshopEmployee:
    workshop = await get(session, workshop_id, principal)
    labourer = await labourers.get_labourer(session, body.labourer_id, principal, "labourer_id")
    if problem := rules.date_problem(body.start_on, clock.today(), workshop.established_on,
                                     "入职日期"):
        raise DomainError("start_on", problem, "invalid_date")
    current = (await session.execute(select(WorkshopEmployee.id).where(
        WorkshopEmployee.workshop_id == workshop.id,
        WorkshopEmployee.labourer_id == labourer.id, WorkshopEmployee.end_on.is_(None)))).first()
    if current is not None:
        raise Conflict("该劳动力已在本车间就业")
    row = WorkshopEmployee(id=new_id(), workshop_id=workshop.id, labourer_id=labourer.id,
                           poverty=labourer.household_category in POVERTY_CATEGORIES,
                           start_on=body.start_on)
    session.add(row)
    await session.flush()
    return row


async def leave(session: AsyncSession, employee_id: str, body: EmployeeLeave,
                principal: Principal, clock: Clock) -> WorkshopEmployee:
    row = await session.get(WorkshopEmployee, employee_id)
    if row is None:
        raise NotFound(f"车间用工记录 {employee_id} 不存在")
    await get(session, row.workshop_id, principal)
    if row.end_on is not None:
        raise Conflict("该用工记录已结束")
    if problem := rules.date_problem(body.end_on, clock.today(), row.start_on, "离职日期"):
        raise DomainError("end_on", problem, "invalid_date")
    row.end_on = body.end_on
    session.add(row)
    await session.flush()
    return row


async def grant(session: AsyncSession, workshop_id: str, body: SubsidyAdd, principal: Principal,
                clock: Clock) -> WorkshopSubsidy:
    workshop = await get(session, workshop_id, principal)
    already = (await session.execute(select(WorkshopSubsidy.id).where(
        WorkshopSubsidy.workshop_id == workshop.id,
        WorkshopSubsidy.kind == body.kind))).first() is not None
    if problem := rules.one_time_problem(body.kind, already):
        raise DomainError("kind", problem, "one_time")
    if problem := rules.date_problem(body.granted_on, clock.today(), label="发放日期"):
        raise DomainError("granted_on", problem, "invalid_date")
    row = WorkshopSubsidy(id=new_id(), workshop_id=workshop.id, **body.model_dump())
    await audit.added(session, principal, row, entity_type="workshop", action="subsidy",
                      entity_id=workshop.id, now=clock.now())
    return row


async def intervals(session: AsyncSession, workshop_id: str, poverty_only: bool = True):
    query = select(WorkshopEmployee.start_on, WorkshopEmployee.end_on).where(
        WorkshopEmployee.workshop_id == workshop_id)
    if poverty_only:
        query = query.where(WorkshopEmployee.poverty)
    return [tuple(r) for r in await session.execute(query)]


async def read(session: AsyncSession, workshop: Workshop, on) -> WorkshopRead:
    all_spans = await intervals(session, workshop.id, poverty_only=False)
    poor = await intervals(session, workshop.id)
    subsidies = (await session.execute(select(func.coalesce(func.sum(
        WorkshopSubsidy.amount_fen), 0)).where(WorkshopSubsidy.workshop_id == workshop.id)))
    return WorkshopRead(**workshop.model_dump(), employees=rules.employed_on(all_spans, on),
                        poverty_employees=rules.employed_on(poor, on),
                        subsidies_fen=int(subsidies.scalar_one()))


async def list_workshops(session: AsyncSession, principal: Principal, county: County,
                         township: str | None) -> list[Workshop]:
    query = select(Workshop).order_by(Workshop.township, Workshop.name)
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(Workshop.township == code)
    elif principal.role in ("township", "village"):
        query = query.where(Workshop.township == principal.township)
    return list((await session.execute(query)).scalars())
