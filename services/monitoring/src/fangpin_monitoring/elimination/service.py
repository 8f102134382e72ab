"""Risk assessment and risk elimination applied to the database. Never commits."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import find_deadline, meet_deadline
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_monitoring.cases import service as cases
from fangpin_monitoring.cases.models import Case
from fangpin_monitoring.cases.rules import ASSESSMENT_DEADLINE
from fangpin_monitoring.elimination import events, rules
from fangpin_monitoring.elimination.models import (
    AssessmentCreate,
    Elimination,
    EliminationRead,
    EliminationStart,
    EliminationStep,
    EliminationStepRead,
    EliminationStepRecord,
    RiskAssessment,
)
from fangpin_monitoring.income import rules as income_rules
from fangpin_monitoring.income import service as income
from fangpin_monitoring.plans import rules as plan_rules
from fangpin_monitoring.plans.service import labour_capacities
from fangpin_monitoring.refusals import refuse_if


def _setting(county: County, key: str, default: int) -> int:
    return int(county.settings.get(key, default))


async def open_case(session: AsyncSession, case_id: str, principal: Principal) -> Case:
    case = await cases.get_case(session, case_id, principal)
    if case.status != "open":
        raise Conflict(f"监测案件 {case.id} 已风险消除")
    return case


async def assess(session: AsyncSession, case_id: str, data: AssessmentCreate,
                 principal: Principal, county: County, clock: Clock) -> RiskAssessment:
    """The half-year risk assessment; it answers the `case.assessment` deadline."""
    case = await open_case(session, case_id, principal)
    today = clock.today()
    assessed_on = data.assessed_on or today
    months = _setting(county, "assessment_months", rules.MIN_MONTHS)
    due = rules.assessment_due_on(case.inclusion_date, months)
    if assessed_on > today:
        raise DomainError("assessed_on", f"评估日期 {assessed_on} 晚于今天（{today}）",
                          "future_date")
    if assessed_on < due:
        raise DomainError("assessed_on", f"纳入监测满{months}个月（{due}）后方可开展风险评估",
                          "too_early")
    now = clock.now()
    deadline = await find_deadline(session, ASSESSMENT_DEADLINE, case.id)
    a = RiskAssessment(id=new_id(), case_id=case.id, assessed_on=assessed_on,
                       assessed_by=principal.sub,
                       late=deadline is not None and deadline.state in ("open", "overdue")
                       and assessed_on > deadline.due_on,
                       created_at=now, **data.model_dump(exclude={"assessed_on"}))
    session.add(a)
    await session.flush()
    await meet_deadline(session, ASSESSMENT_DEADLINE, case.id, assessed_on)
    await audit.record(session, principal, entity_type="case", entity_id=case.id,
                       action="assess", before=None, after=a.model_dump(mode="json"), now=now)
    await outbox.emit(session, events.assessed(case, a, now))
    return a


async def assessments(session: AsyncSession, case_id: str,
                      principal: Principal) -> list[RiskAssessment]:
    case = await cases.get_case(session, case_id, principal)
    return list((await session.exec(select(RiskAssessment).where(
        RiskAssessment.case_id == case.id).order_by(RiskAssessment.assessed_on,
                                                    RiskAssessment.created_at))).all())


async def condition_problems(session: AsyncSession, case: Case, on: date,
                             county: County) -> list[rules.Refusal]:
    """What keeps this household monitored, as of `on` (income, expenses, labour …)."""
    latest = (await session.exec(select(RiskAssessment).where(RiskAssessment.case_id == case.id)
                                 .order_by(RiskAssessment.assessed_on.desc(),
                                           RiskAssessment.created_at.desc()))).first()
    months_back = _setting(county, "assessment_months", rules.MIN_MONTHS)
    periods = income_rules.months_before(on, months_back)
    monthly = await income.monthly_net(session, case.household_id, periods)
    persons = (await income.persons_of(session, [case.household_id]))[case.household_id]
    capacities = (await labour_capacities(session, [case.household_id]))[case.household_id]
    facts = rules.Facts(
        inclusion_date=case.inclusion_date, on=on, min_months=months_back,
        labour_level=plan_rules.labour_level(capacities),
        income_problems=income_rules.stable_income_problems(monthly, periods, persons,
                                                            county.income_line_yuan),
        assessment=None if latest is None else rules.Assessment(
            assessed_on=latest.assessed_on, conclusion=latest.conclusion,
            rigid_expenses_resolved=latest.rigid_expenses_resolved,
            guarantees={k: getattr(latest, k) for k in rules.GUARANTEES}))
    return rules.condition_problems(facts)


def _refuse_conditions(problems: list[rules.Refusal]) -> None:
    refuse_if([(p.field, p.message, p.code) for p in problems], location="conditions")


async def running(session: AsyncSession, case_id: str) -> Elimination | None:
    return (await session.exec(select(Elimination).where(
        Elimination.case_id == case_id, Elimination.status == "in_progress"))).first()


async def start(session: AsyncSession, case_id: str, data: EliminationStart,
                principal: Principal, county: County, clock: Clock) -> Elimination:
    """Start the procedure, or refuse (422) saying which condition the household fails."""
    case = await open_case(session, case_id, principal)
    if (current := await running(session, case.id)) is not None:
        raise Conflict(f"风险消除程序 {current.id} 正在进行（当前步骤："
                       f"{rules.STEP_NAMES[current.next_step]}）")
    today = clock.today()
    started_on = data.started_on or today
    if started_on > today:
        raise DomainError("started_on", f"日期 {started_on} 晚于今天（{today}）", "future_date")
    _refuse_conditions(await condition_problems(session, case, started_on, county))
    now = clock.now()
    e = Elimination(id=new_id(), case_id=case.id, started_on=started_on,
                    started_by=principal.sub, note=data.note, next_step=rules.STEPS[0],
                    created_at=now, updated_at=now)
    await audit.added(session, principal, e, entity_type="case", action="elimination_start",
                      entity_id=case.id, now=now)
    return e


async def record_step(session: AsyncSession, case_id: str, data: EliminationStepRecord,
                      principal: Principal, county: County, clock: Clock) -> Elimination:
    case = await cases.get_case(session, case_id, principal)
    e = await latest(session, case.id)
    if e is None:
        raise Conflict("该案件尚未启动风险消除程序")
    steps = await steps_of(session, e.id)
    passed = tuple(s.step for s in steps if s.outcome == "pass")
    if refusal := rules.transition(e.status, passed, data.step, principal.role,
                                     county.roles_for(f"elimination.{data.step}")):
        raise DomainError(refusal.field, refusal.message, refusal.code)
    today = clock.today()
    record = data.model_dump() | {"done_on": data.done_on or today}
    previous_on = steps[-1].done_on if steps else e.started_on
    refuse_if([(p.field, p.message, p.code) for p in rules.record_problems(
        data.step, data.outcome, record, previous_on, today,
        _setting(county, "elimination_min_verifiers", rules.MIN_VERIFIERS),
        _setting(county, "elimination_notice_days", rules.NOTICE_DAYS))])
    final = data.step == rules.STEPS[-1] and data.outcome == "pass"
    if final:  # the facts may have changed since the procedure started
        _refuse_conditions(await condition_problems(session, case, record["done_on"], county))
    now = clock.now()
    before = e.model_dump(mode="json")
    step = EliminationStep(
        id=new_id(), elimination_id=e.id, step=data.step, outcome=data.outcome,
        done_on=record["done_on"], actor=principal.sub, actor_role=principal.role,
        actor_unit=principal.unit, people=list(data.people), note=data.note,
        details={k: (v.isoformat() if isinstance(v, date) else v) for k, v in record.items()
                 if k not in {"step", "outcome", "done_on", "people", "note"}
                 and v not in (None, [])},
        created_at=now)
    session.add(step)
    e.updated_at = now
    if data.outcome == "reject":
        e.status, e.next_step = "rejected", None
        e.concluded_on, e.rejected_reason = step.done_on, data.reason
    elif final:
        e.status, e.next_step, e.concluded_on = "approved", None, step.done_on
        case.status = "eliminated"
        case.revision += 1
        session.add(case)
    else:
        e.next_step = rules.STEPS[len(passed) + 1]
    session.add(e)
    await session.flush()
    await audit.record(session, principal, entity_type="case", entity_id=case.id,
                       action=f"elimination:{data.step}:{data.outcome}", before=before,
                       after=e.model_dump(mode="json") | {"step": step.model_dump(mode="json")},
                       now=now)
    await outbox.emit(session, events.step_recorded(case, e, step, now))
    if final:
        await outbox.emit(session, events.risk_eliminated(case, e, now))
    return e


async def latest(session: AsyncSession, case_id: str) -> Elimination | None:
    return (await session.exec(select(Elimination).where(Elimination.case_id == case_id)
                               .order_by(Elimination.created_at.desc()))).first()


async def steps_of(session: AsyncSession, elimination_id: str) -> list[EliminationStep]:
    found = (await session.exec(select(EliminationStep).where(
        EliminationStep.elimination_id == elimination_id))).all()
    return sorted(found, key=lambda s: rules.STEPS.index(s.step))


async def read(session: AsyncSession, case_id: str, principal: Principal) -> EliminationRead:
    case = await cases.get_case(session, case_id, principal)
    e = await latest(session, case.id)
    if e is None:
        raise NotFound("该案件没有风险消除程序")
    steps = await steps_of(session, e.id)
    return EliminationRead(
        **e.model_dump(),
        next_step_name=rules.STEP_NAMES[e.next_step] if e.next_step else None,
        steps=[EliminationStepRead(**s.model_dump(), step_name=rules.STEP_NAMES[s.step])
               for s in steps])
