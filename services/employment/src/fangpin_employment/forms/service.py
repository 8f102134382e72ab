"""The monthly form built from the records, its deadlines and its submission history.

Never commits: the request's unit of work does.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, ensure_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import find_deadline, meet_deadline, open_deadline
from fangpin_common.errors import DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_employment.assistance import service as assistance
from fangpin_employment.forms import rules
from fangpin_employment.forms.events import form_submitted
from fangpin_employment.forms.models import FormData, FormSubmission, SubmissionCreate
from fangpin_employment.labourers import rules as labourer_rules
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.models import Labourer, LabourerSituation
from fangpin_employment.policy import EmploymentPolicy
from fangpin_employment.returnees.models import KeyGroupMember, Return
from fangpin_employment.returnees.service import open_on
from fangpin_employment.vocabulary import POVERTY_CATEGORIES
from fangpin_employment.workinfo import rules as work_rules
from fangpin_employment.workinfo.models import WorkRecord


def check_period(period: str, today: date) -> tuple[int, int]:
    if problem := rules.period_problem(period, today):
        raise DomainError("period", problem, "invalid_period", location="path")
    return rules.parse_period(period)  # type: ignore[return-value]


def title(county: County) -> str:
    return f"{county.county.name}{rules.FORM_NAME}"


async def township_rows(session: AsyncSession, county: County, policy: EmploymentPolicy,
                        township_code: str, on: date) -> list[list]:
    """One row per working-age 脱贫 labourer of the township not in transfer employment."""
    township = county.township(township_code)
    born_after, born_by = labourer_rules.birth_bounds(on, county.working_age)
    people = (await session.execute(
        select(Labourer.id, Labourer.village, Labourer.name, Labourer.sex, Labourer.birth_date,
               Labourer.household_category, Labourer.monitoring_subcategory)
        .where(Labourer.township == township_code, Labourer.active,
               Labourer.household_category.in_(POVERTY_CATEGORIES),
               Labourer.birth_date > born_after, Labourer.birth_date <= born_by))).all()
    # Sorted here, not by the database's collation, so both databases give the same order.
    people.sort(key=lambda p: (p.village, p.name, p.id))
    if not people:
        return []
    year, quarter = work_rules.quarter_of(on)
    ranked = (select(WorkRecord.labourer_id, WorkRecord.year, WorkRecord.quarter,
                     WorkRecord.months_worked, WorkRecord.location_type,
                     func.row_number().over(
                         partition_by=WorkRecord.labourer_id,
                         order_by=(WorkRecord.year.desc(), WorkRecord.quarter.desc()),
                     ).label("rn"))
              .where(WorkRecord.township == township_code,
                     WorkRecord.year * 4 + WorkRecord.quarter <= year * 4 + quarter)
              .subquery())
    latest = {r.labourer_id: (r.year, r.quarter, r.months_worked, r.location_type)
              for r in await session.execute(select(ranked).where(ranked.c.rn == 1))}
    back = {r.labourer_id: r.back_since for r in await session.execute(
        select(Return.labourer_id, Return.back_since).where(
            Return.township == township_code, Return.back_since <= on,
            or_(Return.left_on.is_(None), Return.left_on > on)))}
    groups: dict[str, list[str]] = defaultdict(list)
    outcomes: dict[str, tuple[str, date]] = {}
    for r in await session.execute(
            select(KeyGroupMember.labourer_id, KeyGroupMember.key_group, KeyGroupMember.outcome,
                   KeyGroupMember.outcome_on)
            .where(KeyGroupMember.township == township_code, open_on(on))):
        groups[r.labourer_id].append(r.key_group)
        if r.outcome and r.outcome_on and r.outcome_on <= on and (
                r.labourer_id not in outcomes or outcomes[r.labourer_id][1] < r.outcome_on):
            outcomes[r.labourer_id] = (r.outcome, r.outcome_on)
    counts = await assistance.counts_for(session, None, on.year, on, township=township_code)
    situations = {r.labourer_id: r for r in await session.execute(
        select(LabourerSituation.labourer_id, LabourerSituation.reason, LabourerSituation.remark)
        .join(Labourer, Labourer.id == LabourerSituation.labourer_id)
        .where(Labourer.township == township_code))}
    rows = []
    for p in people:
        last = latest.get(p.id)
        transferred, status = rules.employment_status(
            latest=last,
            latest_start=work_rules.quarter_bounds(last[0], last[1])[0] if last else None,
            back_since=back.get(p.id), outcome=outcomes.get(p.id))
        if transferred:
            continue
        situation = situations.get(p.id)
        rows.append(rules.form_row(
            serial=len(rows) + 1, county_name=county.county.name,
            township_name=township.name if township else township_code, village=p.village,
            name=p.name, sex=p.sex, age=labourer_rules.age_on(p.birth_date, on),
            groups=groups.get(p.id, []), category=p.household_category,
            subcategory=p.monitoring_subcategory, counts=counts.get(p.id, {}),
            package=policy.service_package, status=status,
            reason=situation.reason if situation else None,
            note=situation.remark if situation else None))
    return rows


async def township_form(session: AsyncSession, county: County, policy: EmploymentPolicy,
                        principal: Principal, period: str, township: str,
                        clock: Clock) -> FormData:
    year, month = check_period(period, clock.today())
    code = labourers.resolve_township(county, township, "township", "path")
    ensure_reach(principal, code)
    on = rules.as_of(year, month, clock.today())
    rows = await township_rows(session, county, policy, code, on)
    return FormData(title=title(county), county=county.county.name, township=code,
                    township_name=county.township(code).name, period=period, as_of=on,
                    columns=list(rules.COLUMNS), rows=rows)


async def county_form(session: AsyncSession, county: County, policy: EmploymentPolicy,
                      period: str, clock: Clock) -> FormData:
    """The county roll-up: every township's rows, in the county file's township order."""
    year, month = check_period(period, clock.today())
    on = rules.as_of(year, month, clock.today())
    rows: list[list] = []
    for township in county.townships:
        rows.extend(await township_rows(session, county, policy, township.code, on))
    return FormData(title=title(county), county=county.county.name, township=None,
                    township_name=None, period=period, as_of=on, columns=list(rules.COLUMNS),
                    rows=rules.renumber(rows))


def summary(county: County, rows: list[list]) -> list[list]:
    """Rows per township of a county roll-up (its second sheet)."""
    per: dict[str, int] = defaultdict(int)
    for row in rows:
        per[row[2]] += 1
    out = [[t.name, per.get(t.name, 0)] for t in county.townships]
    out.append(["合计", len(rows)])
    return out


# -- deadlines ---------------------------------------------------------------------------------
async def open_month_deadlines(session: AsyncSession, county: County, today: date,
                               now: datetime) -> int:
    """The current month's form deadlines: each township's (3rd) and the county's (5th)."""
    period = rules.period_of(today)
    start = rules.deadline_start(today.year, today.month)
    opened = 0
    wanted = [(rules.FORM_TOWNSHIP_DEADLINE, f"{t.code}:{period}", t.code)
              for t in county.townships]
    wanted.append((rules.FORM_COUNTY_DEADLINE, f"county:{period}", None))
    for kind, subject, township in wanted:
        if await find_deadline(session, kind, subject) is not None:
            continue
        rule = county.deadline_rule(kind, rules.DEFAULT_DAY[kind], 1)
        try:
            async with session.begin_nested():
                await open_deadline(session, rule, subject_type="form", subject_id=subject,
                                    started_on=start, now=now, township=township,
                                    context={"period": period, "level":
                                             "township" if township else "county"})
            opened += 1
        except IntegrityError:  # another replica opened it first
            continue
    return opened


# -- submissions -------------------------------------------------------------------------------
async def _next_version(session: AsyncSession, level: str, township: str | None,
                        period: str) -> int:
    latest = await session.execute(select(func.max(FormSubmission.version)).where(
        FormSubmission.level == level, FormSubmission.period == period,
        FormSubmission.township.is_(None) if township is None
        else FormSubmission.township == township))
    return (latest.scalar() or 0) + 1


async def submit(session: AsyncSession, county: County, policy: EmploymentPolicy,
                 principal: Principal, period: str, township: str | None,
                 body: SubmissionCreate, clock: Clock) -> FormSubmission:
    today, now = clock.today(), clock.now()
    if township is None:
        form = await county_form(session, county, policy, period, clock)
        kind, subject, level = rules.FORM_COUNTY_DEADLINE, f"county:{period}", "county"
        submitted = set((await session.execute(select(FormSubmission.township).where(
            FormSubmission.level == "township", FormSubmission.period == period))).scalars())
        missing = [t.code for t in county.townships if t.code not in submitted]
    else:
        form = await township_form(session, county, policy, principal, period, township, clock)
        kind, subject, level = (rules.FORM_TOWNSHIP_DEADLINE, f"{form.township}:{period}",
                                "township")
        missing = []
    year, month = rules.parse_period(period)  # type: ignore[misc]
    rule = county.deadline_rule(kind, rules.DEFAULT_DAY[kind], 1)
    due = rule.due_on(rules.deadline_start(year, month))
    row = FormSubmission(
        id=new_id(), level=level, township=form.township, period=period,
        version=await _next_version(session, level, form.township, period), as_of=form.as_of,
        submitted_on=today, submitted_at=now, submitted_by=principal.sub, filler=body.filler,
        contact=body.contact, late=today > due, row_count=len(form.rows), rows=form.rows,
        missing_townships=missing)
    session.add(row)
    await session.flush()
    await meet_deadline(session, kind, subject, today)
    await audit.record(session, principal, entity_type="form_submission", entity_id=row.id,
                       action="submit", before=None,
                       after={"level": level, "township": row.township, "period": period,
                              "version": row.version, "rows": row.row_count}, now=now)
    await outbox.emit(session, form_submitted(row, now))
    return row


async def submissions(session: AsyncSession, principal: Principal, county: County, period: str,
                      township: str | None) -> list[FormSubmission]:
    query = select(FormSubmission).where(FormSubmission.period == period).order_by(
        FormSubmission.level, FormSubmission.township, FormSubmission.version)
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(FormSubmission.township == code)
    elif principal.role in ("township", "village"):
        query = query.where(FormSubmission.township == principal.township)
    return list((await session.execute(query)).scalars())


async def get_submission(session: AsyncSession, principal: Principal,
                         submission_id: str) -> FormSubmission:
    row = await session.get(FormSubmission, submission_id)
    if row is None:
        raise NotFound(f"报表提交记录 {submission_id} 不存在")
    if row.township is None:
        if principal.role not in ("county", "platform"):
            ensure_reach(principal, None)
    else:
        ensure_reach(principal, row.township)
    return row
