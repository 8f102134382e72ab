"""Assistance plans and measures applied to the database. Never commits."""

from __future__ import annotations

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox, revisions
from fangpin_common.auth import Principal, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import find_deadline, meet_deadline
from fangpin_common.errors import Conflict, NotFound
from fangpin_common.ids import new_id
from fangpin_monitoring.cases import service as cases
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.cases.rules import PLAN_DEADLINE
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.plans import events, rules
from fangpin_monitoring.plans.models import (
    AssistancePlan,
    LabourCheckRead,
    LabourViolation,
    Measure,
    MeasureCreate,
    MeasureRead,
    MeasureUpdate,
    PlanCreate,
    PlanRead,
)
from fangpin_monitoring.refusals import refuse_if


async def labour_capacities(session: AsyncSession,
                            household_ids: list[str]) -> dict[str, list[str]]:
    by_household: dict[str, list[str]] = {h: [] for h in household_ids}
    rows = await session.exec(select(Member.household_id, Member.labour_capacity).where(
        Member.household_id.in_(household_ids), Member.deceased == False))  # noqa: E712
    for household_id, capacity in rows.all():
        by_household[household_id].append(capacity)
    return by_household


async def open_case(session: AsyncSession, case_id: str, principal: Principal) -> Case:
    case = await cases.get_case(session, case_id, principal)
    if case.status != "open":
        raise Conflict(f"监测案件 {case.id} 已风险消除，不能再制定或调整帮扶措施")
    return case


async def get_plan(session: AsyncSession, case_id: str) -> AssistancePlan | None:
    return (await session.exec(select(AssistancePlan).where(
        AssistancePlan.case_id == case_id))).first()


def _measure_problems(county: County, index_path: list, data: MeasureCreate, inclusion,
                      today) -> list:
    problems = []
    if county.unit(data.responsible_unit) is None:
        problems.append(([*index_path, "responsible_unit"],
                         f"未知的责任单位代码 {data.responsible_unit}（应为县配置中的单位）",
                         "unknown_unit"))
    start_on = data.start_on or today
    if problem := rules.date_problem(start_on, inclusion, today):
        problems.append(([*index_path, "start_on"], problem, "invalid_date"))
    return problems


def _measure(case: Case, plan_id: str, data: MeasureCreate, today, now,
             position: int) -> Measure:
    return Measure(id=new_id(), case_id=case.id, plan_id=plan_id, position=position,
                   measure_type=data.measure_type,
                   measure_kind=rules.measure_kind(data.measure_type),
                   responsible_unit=data.responsible_unit, status=data.status,
                   start_on=data.start_on or today, description=data.description,
                   amount_fen=data.amount_fen, created_at=now, updated_at=now)


async def file_plan(session: AsyncSession, case_id: str, data: PlanCreate, principal: Principal,
                    county: County, clock: Clock) -> AssistancePlan:
    """The helper's plan with its measures; it answers the 10-day `case.plan` deadline."""
    case = await open_case(session, case_id, principal)
    if (existing := await get_plan(session, case.id)) is not None:
        raise Conflict(f"案件已于 {existing.filed_on} 制定帮扶计划，补充措施请用 measures 接口")
    today = clock.today()
    filed_on = data.filed_on or today
    problems = []
    if problem := rules.date_problem(filed_on, case.inclusion_date, today):
        problems.append(("filed_on", problem, "invalid_date"))
    if data.helper_id is not None:
        helper = await session.get(Helper, data.helper_id)
        if helper is None or helper.case_id != case.id:
            problems.append(("helper_id", f"{data.helper_id} 不是本案件的帮扶责任人",
                             "unknown_helper"))
    for i, measure in enumerate(data.measures):
        problems.extend(_measure_problems(county, ["measures", i], measure,
                                          case.inclusion_date, today))
    refuse_if(problems)
    capacities = (await labour_capacities(session, [case.household_id]))[case.household_id]
    check = rules.labour_check(rules.labour_level(capacities),
                               [rules.measure_kind(m.measure_type) for m in data.measures
                                if m.status in rules.ACTIVE])
    refuse_if([("measures", e, "labour_rule") for e in check.errors])
    now = clock.now()
    deadline = await find_deadline(session, PLAN_DEADLINE, case.id)
    plan = AssistancePlan(id=new_id(), case_id=case.id, filed_on=filed_on,
                          filed_by=principal.sub, helper_id=data.helper_id, summary=data.summary,
                          late=deadline is not None and filed_on > deadline.due_on,
                          created_at=now)
    session.add(plan)
    await session.flush()
    measures = [_measure(case, plan.id, m, today, now, i) for i, m in enumerate(data.measures)]
    session.add_all(measures)
    await session.flush()
    await meet_deadline(session, PLAN_DEADLINE, case.id, filed_on)
    await audit.record(session, principal, entity_type="case", entity_id=case.id,
                       action="file_plan", before=None,
                       after=plan.model_dump(mode="json") | {
                           "measures": [m.model_dump(mode="json") for m in measures]}, now=now)
    await outbox.emit(session, events.plan_filed(case, plan, measures, check, now))
    return plan


async def add_measure(session: AsyncSession, case_id: str, data: MeasureCreate,
                      principal: Principal, county: County, clock: Clock) -> Measure:
    case = await open_case(session, case_id, principal)
    plan = await get_plan(session, case.id)
    if plan is None:
        raise Conflict("案件尚未制定帮扶计划：请先提交帮扶计划（POST /plan）")
    today = clock.today()
    refuse_if(_measure_problems(county, [], data, case.inclusion_date, today))
    now = clock.now()
    last = (await session.exec(select(func.max(Measure.position)).where(
        Measure.case_id == case.id))).first()
    measure = _measure(case, plan.id, data, today, now, (last or 0) + 1)
    await audit.added(session, principal, measure, entity_type="case", action="add_measure",
                      entity_id=case.id, now=now)
    await outbox.emit(session, events.measure_added(case, measure, now))
    return measure


# How a 412 names what another person changed.
MEASURE_LABELS = {"status": "措施状态", "responsible_unit": "责任单位", "end_on": "结束日期",
                  "description": "措施说明"}


async def update_measure(session: AsyncSession, case_id: str, measure_id: str,
                         data: MeasureUpdate, principal: Principal, county: County,
                         clock: Clock, expected: int) -> Measure:
    """Changes based on revision `expected`: 412 if the measure changed since."""
    case = await open_case(session, case_id, principal)
    measure = await session.get(Measure, measure_id)
    if measure is None or measure.case_id != case.id:
        raise NotFound(f"案件 {case.id} 没有措施 {measure_id}")
    await revisions.claim(session, Measure, measure_id, expected, label="帮扶措施",
                          audit=("case", case.id), audit_key=("id", measure_id),
                          labels=MEASURE_LABELS)
    await session.refresh(measure)
    changes = data.model_dump(exclude_unset=True, exclude={"revision"})
    problems = []
    if "responsible_unit" in changes and county.unit(changes["responsible_unit"]) is None:
        problems.append(("responsible_unit", f"未知的责任单位代码 {changes['responsible_unit']}",
                         "unknown_unit"))
    end_on = changes.get("end_on")
    if end_on is not None:
        if end_on < measure.start_on:
            problems.append(("end_on", f"结束日期 {end_on} 早于开始日期 {measure.start_on}",
                             "invalid_date"))
        elif end_on > clock.today():
            problems.append(("end_on", f"结束日期 {end_on} 晚于今天（{clock.today()}）",
                             "invalid_date"))
    for field, value in changes.items():
        if value is None and field in ("status", "responsible_unit"):
            problems.append((field, "不能为空", "required"))
    refuse_if(problems)
    before = measure.model_dump(mode="json") | {"revision": expected}
    for field, value in changes.items():
        setattr(measure, field, value)
    measure.updated_at = clock.now()
    session.add(measure)
    await session.flush()
    await audit.record(session, principal, entity_type="case", entity_id=case.id,
                       action="update_measure", before=before,
                       after=measure.model_dump(mode="json"), now=measure.updated_at)
    return measure


def measure_read(measure: Measure, county: County) -> MeasureRead:
    unit = county.unit(measure.responsible_unit)
    return MeasureRead(**measure.model_dump(), responsible_unit_name=unit.name if unit else None)


def check_read(check: rules.LabourCheck) -> LabourCheckRead:
    return LabourCheckRead(level=check.level, level_name=rules.LABOUR_NAMES[check.level],
                           errors=check.errors, warnings=check.warnings)


async def read_plan(session: AsyncSession, case: Case, county: County) -> PlanRead:
    plan = await get_plan(session, case.id)
    if plan is None:
        raise NotFound(f"案件 {case.id} 尚未制定帮扶计划")
    measures = list((await session.exec(select(Measure).where(Measure.case_id == case.id)
                                        .order_by(Measure.position))).all())
    capacities = (await labour_capacities(session, [case.household_id]))[case.household_id]
    check = rules.labour_check(rules.labour_level(capacities),
                               [m.measure_kind for m in measures if m.status in rules.ACTIVE])
    return PlanRead(**plan.model_dump(), measures=[measure_read(m, county) for m in measures],
                    labour=check_read(check))


async def labour_violations(session: AsyncSession, principal: Principal,
                            township: str | None) -> list[LabourViolation]:
    """Open cases whose current measures break the labour-capacity rule (errors), or could do
    better (weak labour without a developmental measure), per township."""
    query = (select(Case, Household.head_name)
             .join(Household, Household.id == Case.household_id)
             .where(Case.status == "open",
                    Case.id.in_(select(AssistancePlan.case_id)))
             .order_by(Case.township, Case.village, Case.id))
    query = within_reach(query, principal, Case.township, Case.village)
    if township:
        query = query.where(Case.township == township)
    found = (await session.exec(query)).all()
    if not found:
        return []
    case_ids = [c.id for c, _ in found]
    capacities = await labour_capacities(session, list({c.household_id for c, _ in found}))
    active: dict[str, list[tuple[str, str]]] = {c: [] for c in case_ids}
    rows = await session.exec(select(Measure.case_id, Measure.measure_type, Measure.measure_kind)
                              .where(Measure.case_id.in_(case_ids),
                                     Measure.status.in_(rules.ACTIVE)))
    for case_id, measure_type, kind in rows.all():
        active[case_id].append((measure_type, kind))
    out = []
    for case, head_name in found:
        check = rules.labour_check(rules.labour_level(capacities[case.household_id]),
                                   [k for _, k in active[case.id]])
        if check.errors or check.warnings:
            out.append(LabourViolation(
                case_id=case.id, household_id=case.household_id, township=case.township,
                village=case.village, head_name=head_name, labour=check_read(check),
                active_measure_types=[t for t, _ in active[case.id]],
                severity="error" if check.errors else "warning"))
    return out
