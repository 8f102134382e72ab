"""Case rules applied to the database. Never commits: the caller's unit of work does."""

from __future__ import annotations

from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, ensure_reach, shown_phone, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import find_deadline, meet_deadline, open_deadline
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_monitoring.cases import rules
from fangpin_monitoring.cases.events import case_opened, helper_assigned
from fangpin_monitoring.cases.models import (
    Case,
    CaseCreate,
    CaseRead,
    DeadlineRead,
    Helper,
    HelperAssign,
    HelperRead,
)
from fangpin_monitoring.households import service as households
from fangpin_monitoring.households.models import Household
from fangpin_monitoring.identification.models import Identification


async def open_case(session: AsyncSession, data: CaseCreate, principal: Principal,
                    county: County, clock: Clock, *, identification_id: str | None = None,
                    platform: bool = False) -> Case:
    """Open a case: through the county's confirmation of the identification
    `identification_id`, or a platform inclusion (which supersedes a running identification).
    No other way in, so that no identification is left running beside a case (M1)."""
    if identification_id is None and not platform:
        raise ValueError("a case opens through an identification or a platform inclusion")
    today = clock.today()
    if problem := rules.inclusion_date_problem(data.inclusion_date, today):
        raise DomainError("inclusion_date", problem, "future_date")
    # populate_existing: the caller may hold the row unlocked already (platform inclusions).
    household = await session.get(Household, data.household_id, with_for_update=True,
                                  populate_existing=True)
    if household is None:
        raise DomainError("household_id", f"农户 {data.household_id} 不存在", "unknown_household")
    ensure_reach(principal, household.township, household.village)
    running = (await session.exec(select(Identification.id).where(
        Identification.household_id == household.id,
        Identification.status == "in_progress"))).first()
    if running is not None and running != identification_id and not platform:
        raise Conflict(f"农户 {household.id} 的识别程序 {running} 正在进行，"
                       "监测案件只能由该程序的县级确认开启")
    open_case_id = (await session.exec(select(Case.id).where(
        Case.household_id == household.id, Case.status == "open"))).first()
    if open_case_id is not None:
        raise Conflict(f"农户 {household.id} 已有未消除风险的监测案件 {open_case_id}")
    previous = (await session.exec(select(Case.id).where(Case.household_id == household.id)
                                   .order_by(Case.inclusion_date.desc()))).first()
    now = clock.now()
    case = Case(id=new_id(), household_id=household.id, township=household.township,
                village=household.village, category=data.category,
                risk_types=list(data.risk_types), inclusion_date=data.inclusion_date,
                previous_case_id=previous, created_at=now)
    session.add(case)
    await session.flush()
    for kind in (rules.HELPER_DEADLINE, rules.PLAN_DEADLINE):
        await open_deadline(
            session, county.deadline_rule(kind, rules.DEFAULT_DAYS[kind]), subject_type="case",
            subject_id=case.id, started_on=case.inclusion_date, now=now,
            household_id=household.id, township=household.township, village=household.village,
            context={"case_id": case.id, "category": case.category})
    await open_deadline(
        session, county.deadline_rule(rules.ASSESSMENT_DEADLINE, 0, rules.ASSESSMENT_WARN_DAYS,
                                      rules.ASSESSMENT_MONTHS),
        subject_type="case", subject_id=case.id, started_on=case.inclusion_date, now=now,
        household_id=household.id, township=household.township, village=household.village,
        context={"case_id": case.id, "category": case.category})
    await audit.record(session, principal, entity_type="case", entity_id=case.id, action="open",
                       before=None, after=case.model_dump(mode="json"), now=now)
    await outbox.emit(session, case_opened(case, now))
    if household.category != "监测户" or household.monitoring_subcategory != data.category:
        household, members = await households.get_household(session, household.id, principal)
        household.category, household.monitoring_subcategory = "监测户", data.category
        household.revision += 1
        household.updated_at = now
        session.add(household)
        await households.announce(session, household, members, now)
    return case


async def assign_helper(session: AsyncSession, case_id: str, data: HelperAssign,
                        principal: Principal, clock: Clock) -> Helper:
    case = await get_case(session, case_id, principal)
    today = clock.today()
    assigned_on = data.assigned_on or today
    if problem := rules.assignment_date_problem(assigned_on, case.inclusion_date, today):
        raise DomainError("assigned_on", problem, "invalid_date")
    now = clock.now()
    helper = Helper(id=new_id(), case_id=case.id, name=data.name, unit=data.unit,
                    phone=data.phone, assigned_on=assigned_on, created_at=now)
    session.add(helper)
    await session.flush()
    deadline = await find_deadline(session, rules.HELPER_DEADLINE, case.id)
    await meet_deadline(session, rules.HELPER_DEADLINE, case.id, assigned_on)
    late = deadline is not None and assigned_on > deadline.due_on
    await audit.record(session, principal, entity_type="case", entity_id=case.id,
                       action="assign_helper", before=None,
                       after=helper.model_dump(mode="json"), now=now)
    await outbox.emit(session, helper_assigned(case, helper, late, now))
    return helper


async def get_case(session: AsyncSession, case_id: str, principal: Principal) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound(f"监测案件 {case_id} 不存在")
    ensure_reach(principal, case.township, case.village)
    return case


async def read_case(session: AsyncSession, case: Case, principal: Principal) -> CaseRead:
    """The case with its helpers (phones masked unless the role sees them; full reads audited)
    and deadlines."""
    helpers = (await session.exec(select(Helper).where(Helper.case_id == case.id)
                                  .order_by(Helper.assigned_on))).all()
    deadlines = (await session.execute(sa_select(DEADLINES).where(
        DEADLINES.c.subject_id == case.id).order_by(DEADLINES.c.due_on))).all()
    if any(h.phone for h in helpers):
        await audit.full_read(session, principal, "case", [case.id], "helper.phone")
    return CaseRead(
        **case.model_dump(),
        helpers=[HelperRead(**(h.model_dump() | {"phone": shown_phone(principal, h.phone)}))
                 for h in helpers],
        deadlines=[DeadlineRead(kind=d.kind, due_on=d.due_on, state=d.state, met_on=d.met_on)
                   for d in deadlines],
    )


async def list_cases(session: AsyncSession, principal: Principal, status: str | None,
                     limit: int, offset: int) -> list[Case]:
    query = select(Case).order_by(Case.created_at, Case.id)
    query = within_reach(query, principal, Case.township, Case.village)
    if status:
        query = query.where(Case.status == status)
    return list((await session.exec(query.limit(limit).offset(offset))).all())
