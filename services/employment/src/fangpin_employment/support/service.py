"""Applications applied to the database: facts gathered, the pure rule decides. Never commits."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_employment.labourers import rules as labourer_rules
from fangpin_employment.labourers import service as labourers
from fangpin_employment.policy import EmploymentPolicy
from fangpin_employment.posts.models import PostHolding
from fangpin_employment.returnees.models import KeyGroupMember
from fangpin_employment.returnees.service import open_on
from fangpin_employment.support import rules
from fangpin_employment.support.models import Application, ApplicationCreate, ApplicationRead
from fangpin_employment.workinfo.models import WorkRecord
from fangpin_employment.workshops.models import Workshop, WorkshopEmployee


async def _facts(session: AsyncSession, body: ApplicationCreate, principal: Principal,
                 county: County, clock: Clock) -> tuple[rules.Facts, str, str | None]:
    today = clock.today()
    spec = rules.KINDS[body.kind]
    if spec.subject == "labourer":
        if not body.labourer_id:
            raise DomainError("labourer_id", f"{spec.label}须指定劳动力", "missing")
        labourer = await labourers.get_labourer(session, body.labourer_id, principal,
                                                "labourer_id")
        months: dict[str, int] = defaultdict(int)
        for location, n in await session.execute(
                select(WorkRecord.location_type, func.sum(WorkRecord.months_worked))
                .where(WorkRecord.labourer_id == labourer.id, WorkRecord.year == today.year,
                       WorkRecord.location_type.is_not(None))
                .group_by(WorkRecord.location_type)):
            months[location] = int(n or 0)
        groups = frozenset((await session.execute(select(KeyGroupMember.key_group).where(
            KeyGroupMember.labourer_id == labourer.id, open_on(today)))).scalars())
        holds = (await session.execute(select(PostHolding.id).where(
            PostHolding.labourer_id == labourer.id, PostHolding.end_on.is_(None)))).first()
        facts = rules.Facts(
            household_category=labourer.household_category,
            labour_capacity=labourer.labour_capacity,
            age=labourer_rules.age_on(labourer.birth_date, today),
            working_age=labourer_rules.is_working_age(labourer.birth_date, today,
                                                      county.working_age),
            key_groups=groups, months_by_location=dict(months), holds_post=holds is not None,
            training_completed=body.training_completed_on is not None
            and body.training_completed_on <= today,
            business_registered=bool(body.business_name))
        return facts, labourer.id, labourer.township
    if spec.subject == "workshop":
        if not body.workshop_id:
            raise DomainError("workshop_id", f"{spec.label}须指定就业帮扶车间", "missing")
        workshop = await session.get(Workshop, body.workshop_id)
        if workshop is not None:
            ensure_reach(principal, workshop.township)
        return (rules.Facts(workshop_exists=workshop is not None), body.workshop_id,
                workshop.township if workshop else None)
    if not body.employer and not body.workshop_id:
        raise DomainError("employer", f"{spec.label}须指定用人单位", "missing")
    employees = body.poverty_employees or 0
    township = None
    if body.workshop_id:  # a workshop applying as an employer: count from the records
        workshop = await session.get(Workshop, body.workshop_id)
        if workshop is None:
            raise DomainError("workshop_id", f"就业帮扶车间 {body.workshop_id} 不存在",
                              "unknown_workshop")
        ensure_reach(principal, workshop.township)
        township = workshop.township
        employees = (await session.execute(select(func.count()).select_from(
            WorkshopEmployee).where(WorkshopEmployee.workshop_id == workshop.id,
                                    WorkshopEmployee.poverty,
                                    WorkshopEmployee.end_on.is_(None)))).scalar_one()
    elif body.township:
        township = labourers.resolve_township(county, body.township)
    return (rules.Facts(poverty_employees=employees), body.workshop_id or body.employer,
            township)


async def apply(session: AsyncSession, body: ApplicationCreate, principal: Principal,
                county: County, policy: EmploymentPolicy, clock: Clock) -> Application:
    """Check eligibility with the kind's rule; an ineligible application is refused (422)."""
    today, now = clock.today(), clock.now()
    facts, subject, township = await _facts(session, body, principal, county, clock)
    spec = rules.KINDS[body.kind]
    if spec.one_time:
        earlier = (await session.execute(select(Application.id).where(
            Application.kind == body.kind, Application.subject_id == subject,
            Application.year == today.year,
            Application.status.in_(("submitted", "approved", "paid"))))).first()
        facts = rules.Facts(**(facts.__dict__ | {"already_granted": earlier is not None}))
    reasons = rules.eligibility(body.kind, facts, stable_months=policy.stable_months)
    if reasons:
        raise DomainError("kind", f"不符合{spec.label}申请条件：" + "；".join(reasons),
                          "not_eligible")
    details = {k: v for k, v in body.model_dump(mode="json", exclude={
        "kind", "labourer_id", "workshop_id", "amount_fen", "township"}).items() if v is not None}
    row = Application(id=new_id(), kind=body.kind, family=spec.family, subject_id=subject,
                      township=township, year=today.year, amount_fen=body.amount_fen,
                      details=details, submitted_on=today, created_by=principal.sub,
                      created_at=now)
    await audit.added(session, principal, row, entity_type="support_application", action="apply",
                      now=now)
    return row


async def decide(session: AsyncSession, application_id: str, action: str, on, note: str | None,
                 principal: Principal, clock: Clock) -> Application:
    row = await session.get(Application, application_id)
    if row is None:
        raise NotFound(f"申请 {application_id} 不存在")
    new = rules.transition(row.status, action)
    if new is None:
        raise Conflict(f"申请当前状态为 {row.status}，不能执行 {action}")
    day = on or clock.today()
    if day > clock.today() or day < row.submitted_on:
        raise DomainError("on", f"日期 {day} 应在申请日 {row.submitted_on} 与今天之间",
                          "invalid_date")
    before = row.model_dump(mode="json")
    row.status = new
    if action == "pay":
        row.paid_on = day
    else:
        row.decided_on, row.decision_note = day, note
    session.add(row)
    await session.flush()
    await audit.record(session, principal, entity_type="support_application", entity_id=row.id,
                       action=action, before=before, after=row.model_dump(mode="json"),
                       now=clock.now())
    return row


def to_read(row: Application) -> ApplicationRead:
    return ApplicationRead(**row.model_dump(), label=rules.KINDS[row.kind].label)


async def list_applications(session: AsyncSession, principal: Principal, county: County,
                            kind: str | None, status: str | None,
                            township: str | None) -> list[Application]:
    query = select(Application).order_by(Application.submitted_on, Application.id)
    if kind:
        query = query.where(Application.kind == kind)
    if status:
        query = query.where(Application.status == status)
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(Application.township == code)
    elif principal.role in ("township", "village"):
        query = query.where(Application.township == principal.township)
    return list((await session.execute(query)).scalars())
