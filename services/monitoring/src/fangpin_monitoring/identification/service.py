"""The identification procedure applied to the database. Never commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, ensure_reach, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import find_deadline, meet_deadline, open_deadline
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_monitoring.cases import service as cases
from fangpin_monitoring.cases.models import Case, CaseCreate, DeadlineRead
from fangpin_monitoring.households.models import Household
from fangpin_monitoring.identification import events, rules
from fangpin_monitoring.identification.models import (
    Identification,
    IdentificationCreate,
    IdentificationRead,
    IdentificationStep,
    PlatformInclusionBatch,
    PlatformInclusionResult,
    StepRead,
    StepRecord,
)
from fangpin_monitoring.refusals import refuse_if
from fangpin_monitoring.warnings.models import RiskWarning


def step_rule(county: County, step: str):
    return county.deadline_rule(rules.deadline_kind(step), rules.DEFAULT_DAYS[step],
                                rules.WARN_DAYS)


async def open_case_of(session: AsyncSession, household_id: str) -> Case | None:
    return (await session.exec(select(Case).where(Case.household_id == household_id,
                                                  Case.status == "open"))).first()


async def running_identification(session: AsyncSession,
                                 household_id: str) -> Identification | None:
    return (await session.exec(select(Identification).where(
        Identification.household_id == household_id,
        Identification.status == "in_progress"))).first()


async def start(session: AsyncSession, household: Household, *, source: str, category: str,
                risk_types: list[str], clue: str | None, warning_id: str | None,
                principal: Principal, county: County, clock: Clock,
                started_on: date | None = None) -> Identification:
    """Open the procedure for a household (from a verified warning, a visit, an application)."""
    case = await open_case_of(session, household.id)
    if case is not None:
        raise Conflict(f"农户 {household.id} 已是监测对象（案件 {case.id}，纳入日期 "
                       f"{case.inclusion_date}），不能重复识别")
    running = await running_identification(session, household.id)
    if running is not None:
        raise Conflict(f"农户 {household.id} 的识别程序 {running.id} 正在进行"
                       f"（当前步骤：{rules.step_name(running.next_step)}）")
    now = clock.now()
    ident = Identification(
        id=new_id(), household_id=household.id, township=household.township,
        village=household.village, source=source, warning_id=warning_id, category=category,
        risk_types=list(risk_types), clue=clue, next_step=rules.STEPS[0],
        started_on=started_on or clock.today(), started_by=principal.sub, created_at=now,
        updated_at=now)
    session.add(ident)
    await session.flush()
    await _open_step_deadline(session, county, ident, rules.STEPS[0], ident.started_on, now)
    await audit.record(session, principal, entity_type="identification", entity_id=ident.id,
                       action="start", before=None, after=ident.model_dump(mode="json"), now=now)
    await outbox.emit(session, events.started(ident, now))
    return ident


async def create(session: AsyncSession, data: IdentificationCreate, principal: Principal,
                 county: County, clock: Clock) -> Identification:
    household = await session.get(Household, data.household_id)
    if household is None:
        raise DomainError("household_id", f"农户 {data.household_id} 不存在", "unknown_household")
    ensure_reach(principal, household.township, household.village)
    return await start(session, household, source=data.source, category=data.category,
                       risk_types=list(data.risk_types), clue=data.clue, warning_id=None,
                       principal=principal, county=county, clock=clock)


async def _open_step_deadline(session: AsyncSession, county: County, ident: Identification,
                              step: str, started_on: date, now) -> None:
    await open_deadline(session, step_rule(county, step), subject_type="identification",
                        subject_id=ident.id, started_on=started_on, now=now,
                        household_id=ident.household_id, township=ident.township,
                        village=ident.village,
                        context={"identification_id": ident.id, "step": step,
                                 "step_name": rules.step_name(step)})


async def steps_of(session: AsyncSession, ident_id: str) -> list[IdentificationStep]:
    return list((await session.exec(select(IdentificationStep).where(
        IdentificationStep.identification_id == ident_id))).all())


def _ordered(steps: list[IdentificationStep]) -> list[IdentificationStep]:
    return sorted(steps, key=lambda s: rules.STEPS.index(s.step))


async def record_step(session: AsyncSession, ident_id: str, data: StepRecord,
                      principal: Principal, county: County, clock: Clock) -> Identification:
    ident = await get(session, ident_id, principal)
    done = _ordered(await steps_of(session, ident.id))
    passed = tuple(s.step for s in done if s.outcome == "pass")
    refusal = rules.transition(ident.status, passed, data.step, principal.role,
                               county.roles_for(f"identification.{data.step}"))
    if refusal:
        raise DomainError(refusal.field, refusal.message, refusal.code)
    today = clock.today()
    record = data.model_dump() | {"done_on": data.done_on or today}
    previous_on = done[-1].done_on if done else ident.started_on
    refuse_if([(p.field, p.message, p.code) for p in
               rules.record_problems(data.step, data.outcome, record, previous_on, today)])
    now = clock.now()
    before = ident.model_dump(mode="json")
    deadline = await find_deadline(session, rules.deadline_kind(data.step), ident.id)
    due_on = deadline.due_on if deadline is not None else None
    details = {k: (v.isoformat() if isinstance(v, date) else v)
               for k, v in record.items()
               if k not in {"step", "outcome", "done_on", "people", "note"} and v is not None}
    step = IdentificationStep(
        id=new_id(), identification_id=ident.id, step=data.step, outcome=data.outcome,
        done_on=record["done_on"], due_on=due_on, late=rules.is_late(record["done_on"], due_on),
        actor=principal.sub, actor_role=principal.role, actor_unit=principal.unit,
        people=list(data.people), note=data.note, details=details, created_at=now)
    session.add(step)
    await meet_deadline(session, rules.deadline_kind(data.step), ident.id, step.done_on)
    ident.updated_at = now
    if data.outcome == "reject":
        ident.status, ident.next_step = "rejected", None
        ident.concluded_on, ident.rejected_reason = step.done_on, data.reason
        await close_warnings(session, ident.id)
    elif data.step == rules.STEPS[-1]:
        case = await cases.open_case(session, CaseCreate(
            household_id=ident.household_id, inclusion_date=step.done_on,
            category=ident.category, risk_types=ident.risk_types), principal, county, clock,
            identification_id=ident.id)
        ident.status, ident.next_step, ident.case_id = "confirmed", None, case.id
        ident.concluded_on = step.done_on
        await close_warnings(session, ident.id)
    else:
        ident.next_step = rules.next_step(passed + (data.step,))
        await _open_step_deadline(session, county, ident, ident.next_step, step.done_on, now)
    session.add(ident)
    await session.flush()
    await audit.record(session, principal, entity_type="identification", entity_id=ident.id,
                       action=f"step:{data.step}:{data.outcome}", before=before,
                       after=ident.model_dump(mode="json") | {"step": step.model_dump(mode="json")},
                       now=now)
    await outbox.emit(session, events.step_recorded(ident, step, now))
    return ident


async def close_warnings(session: AsyncSession, ident_id: str) -> None:
    """The warnings that started a procedure stop counting as open once it ends."""
    await session.execute(update(RiskWarning).where(RiskWarning.identification_id == ident_id)
                          .values(is_open=False))


async def get(session: AsyncSession, ident_id: str, principal: Principal) -> Identification:
    ident = await session.get(Identification, ident_id)
    if ident is None:
        raise NotFound(f"识别程序 {ident_id} 不存在")
    ensure_reach(principal, ident.township, ident.village)
    return ident


async def read(session: AsyncSession, ident: Identification) -> IdentificationRead:
    steps = _ordered(await steps_of(session, ident.id))
    deadlines = (await session.execute(sa_select(DEADLINES).where(
        DEADLINES.c.subject_id == ident.id).order_by(DEADLINES.c.due_on))).all()
    return IdentificationRead(
        **ident.model_dump(),
        next_step_name=rules.step_name(ident.next_step) if ident.next_step else None,
        steps=[StepRead(**s.model_dump(), step_name=rules.step_name(s.step)) for s in steps],
        deadlines=[DeadlineRead(kind=d.kind, due_on=d.due_on, state=d.state, met_on=d.met_on)
                   for d in deadlines])


async def list_identifications(session: AsyncSession, principal: Principal, status: str | None,
                               township: str | None, limit: int,
                               offset: int) -> list[Identification]:
    query = select(Identification).order_by(Identification.started_on, Identification.id)
    query = within_reach(query, principal, Identification.township, Identification.village)
    if township:
        query = query.where(Identification.township == township)
    if status:
        query = query.where(Identification.status == status)
    return list((await session.exec(query.limit(limit).offset(offset))).all())


async def platform_inclusions(session: AsyncSession, batch: PlatformInclusionBatch,
                              principal: Principal, county: County,
                              clock: Clock) -> list[PlatformInclusionResult]:
    """Cases the provincial platform included directly, with its dates. Replays change nothing;
    every item is checked before any case opens, so one bad item changes nothing."""
    today = clock.today()
    problems = []
    resolved: list[tuple[int, Household, Case | None]] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(batch.inclusions):
        where = ["inclusions", i]
        household = None
        if item.household_id:
            household = await session.get(Household, item.household_id)
            missing = f"农户 {item.household_id} 不存在"
            field = "household_id"
        elif item.platform_household_id:
            household = (await session.exec(select(Household).where(
                Household.platform_id == item.platform_household_id))).first()
            missing = f"自治区平台户编号 {item.platform_household_id} 在本系统中没有对应农户"
            field = "platform_household_id"
        else:
            problems.append(([*where, "household_id"],
                             "须提供 household_id 或 platform_household_id", "household_required"))
            continue
        if household is None:
            problems.append(([*where, field], missing, "unknown_household"))
            continue
        if household.id in seen:
            problems.append(([*where, field], f"与第 {seen[household.id] + 1} 条是同一农户",
                             "duplicate"))
            continue
        seen[household.id] = i
        if item.inclusion_date > today:
            problems.append(([*where, "inclusion_date"],
                             f"纳入日期 {item.inclusion_date} 晚于今天（{today}）", "future_date"))
            continue
        same = (await session.exec(select(Case).where(
            Case.household_id == household.id,
            Case.inclusion_date == item.inclusion_date))).first()
        if same is None:
            current = await open_case_of(session, household.id)
            if current is not None:
                problems.append(([*where, "inclusion_date"],
                                 f"农户已有未消除风险的监测案件 {current.id}（纳入日期 "
                                 f"{current.inclusion_date}），与平台纳入日期 "
                                 f"{item.inclusion_date} 不一致", "open_case_differs"))
                continue
        resolved.append((i, household, same))
    refuse_if(problems)
    results = []
    for i, household, same in resolved:
        item = batch.inclusions[i]
        if same is not None:
            results.append(PlatformInclusionResult(index=i, household_id=household.id,
                                                   case_id=same.id,
                                                   inclusion_date=same.inclusion_date,
                                                   created=False))
            continue
        case = await cases.open_case(session, CaseCreate(
            household_id=household.id, inclusion_date=item.inclusion_date,
            category=item.category, risk_types=item.risk_types), principal, county, clock,
            platform=True)
        running = await running_identification(session, household.id)
        if running is not None:
            running.status, running.next_step, running.case_id = "superseded", None, case.id
            running.concluded_on, running.updated_at = today, clock.now()
            session.add(running)
            await session.execute(update(DEADLINES).where(
                DEADLINES.c.subject_id == running.id,
                DEADLINES.c.state.in_(("open", "overdue"))).values(state="cancelled"))
            await close_warnings(session, running.id)
        results.append(PlatformInclusionResult(index=i, household_id=household.id,
                                               case_id=case.id,
                                               inclusion_date=case.inclusion_date, created=True))
    return results
