"""Postings and work relief applied to the database. Never commits."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, ensure_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_employment import sql
from fangpin_employment.jobs import rules
from fangpin_employment.jobs.events import jobs_published
from fangpin_employment.jobs.models import (
    ContractCreate,
    JobPosting,
    LabourContract,
    PostingCreate,
    ProjectCreate,
    ReliefProject,
    UnpaidRow,
    WagePayment,
    WageRecord,
)
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.models import Labourer


async def publish(session: AsyncSession, body: PostingCreate, principal: Principal,
                  county: County, clock: Clock) -> JobPosting:
    """Push postings to townships and villages (the county by the 5th, E5)."""
    today, now = clock.today(), clock.now()
    for field, reason in rules.posting_problems(wage_min_fen=body.wage_min_fen,
                                                wage_max_fen=body.wage_max_fen,
                                                closes_on=body.closes_on, today=today):
        raise DomainError(field, reason, "invalid")
    townships = [labourers.resolve_township(county, t, ["townships", i])
                 for i, t in enumerate(body.townships)]
    if principal.role == "township":
        townships = townships or [principal.township]
        for t in townships:
            ensure_reach(principal, t)
    posting = JobPosting(id=new_id(), published_on=today, published_by=principal.sub,
                         created_at=now, **(body.model_dump() | {"townships": townships}))
    await audit.added(session, principal, posting, entity_type="job_posting", action="publish",
                      now=now)
    await outbox.emit(session, jobs_published(posting, now))
    return posting


async def postings_for(session: AsyncSession, principal: Principal, county: County,
                       clock: Clock, township: str | None, kind: str | None,
                       include_closed: bool) -> list[JobPosting]:
    """Open postings pushed to the caller's township (or to all townships)."""
    query = select(JobPosting).order_by(JobPosting.published_on.desc(), JobPosting.id)
    if kind:
        query = query.where(JobPosting.kind == kind)
    if not include_closed:
        query = query.where(or_(JobPosting.closes_on.is_(None),
                                JobPosting.closes_on >= clock.today()))
    code = labourers.query_township(county, township) if township else (
        principal.township if principal.role in ("township", "village") else None)
    rows = list((await session.execute(query)).scalars())
    if code is None:
        return rows
    return [p for p in rows if not p.townships or code in p.townships]


# -- work relief (以工代赈) -----------------------------------------------------------------
async def create_project(session: AsyncSession, body: ProjectCreate, principal: Principal,
                         county: County, clock: Clock) -> ReliefProject:
    township = labourers.resolve_township(county, body.township)
    ensure_reach(principal, township)
    if body.ends_on is not None and body.ends_on < body.starts_on:
        raise DomainError("ends_on", "项目结束日期早于开始日期", "invalid_date")
    row = ReliefProject(id=new_id(), created_at=clock.now(),
                        **(body.model_dump() | {"township": township}))
    session.add(row)
    await session.flush()
    return row


async def _project(session: AsyncSession, project_id: str, principal: Principal) -> ReliefProject:
    row = await session.get(ReliefProject, project_id)
    if row is None:
        raise NotFound(f"以工代赈项目 {project_id} 不存在")
    ensure_reach(principal, row.township)
    return row


async def sign(session: AsyncSession, project_id: str, body: ContractCreate,
               principal: Principal, clock: Clock) -> LabourContract:
    project = await _project(session, project_id, principal)
    labourer = await labourers.get_labourer(session, body.labourer_id, principal, "labourer_id")
    if body.signed_on > clock.today():
        raise DomainError("signed_on", f"签订日期 {body.signed_on} 晚于今天", "future_date")
    row = LabourContract(id=new_id(), project_id=project.id, labourer_id=labourer.id,
                         signed_on=body.signed_on, daily_wage_fen=body.daily_wage_fen)
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("该劳动力已与本项目签订劳务协议") from exc
    return row


async def record_wage(session: AsyncSession, contract_id: str, body: WageRecord,
                      principal: Principal, clock: Clock) -> WagePayment:
    contract = await session.get(LabourContract, contract_id)
    if contract is None:
        raise NotFound(f"劳务协议 {contract_id} 不存在")
    await _project(session, contract.project_id, principal)
    if body.paid_on is not None and body.paid_on > clock.today():
        raise DomainError("paid_on", f"发放日期 {body.paid_on} 晚于今天", "future_date")
    due = rules.wage_due(body.days_worked, contract.daily_wage_fen)
    values = {"id": new_id(), "contract_id": contract.id, "period": body.period,
              "days_worked": body.days_worked, "due_fen": due, "paid_fen": body.paid_fen,
              "paid_on": body.paid_on}
    await sql.upsert(session, WagePayment.__table__, [values], ["contract_id", "period"],
                     ["days_worked", "due_fen", "paid_fen", "paid_on"])
    await audit.record(session, principal, entity_type="relief_contract", entity_id=contract.id,
                       action="wage", before=None,
                       after={k: (str(v) if v is not None else None) for k, v in values.items()},
                       now=clock.now())
    return (await session.execute(select(WagePayment).where(
        WagePayment.contract_id == contract.id, WagePayment.period == body.period)
        .execution_options(populate_existing=True))).scalar_one()


async def unpaid(session: AsyncSession, project_id: str, principal: Principal) -> list[UnpaidRow]:
    """Wages not paid in full: flagged for the labour-rights check (E11)."""
    await _project(session, project_id, principal)
    rows = await session.execute(
        select(WagePayment, LabourContract.labourer_id, Labourer.name)
        .join(LabourContract, LabourContract.id == WagePayment.contract_id)
        .join(Labourer, Labourer.id == LabourContract.labourer_id)
        .where(LabourContract.project_id == project_id, WagePayment.paid_fen < WagePayment.due_fen)
        .order_by(WagePayment.period, Labourer.name))
    return [UnpaidRow(contract_id=w.contract_id, labourer_id=lid, name=name, period=w.period,
                      due_fen=w.due_fen, paid_fen=w.paid_fen,
                      unpaid_fen=rules.unpaid(w.due_fen, w.paid_fen)) for w, lid, name in rows]
