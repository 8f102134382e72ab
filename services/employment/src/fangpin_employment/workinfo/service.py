"""Work information applied to the database: entry, quarter deadlines, screening, stability.

Never commits: the request's unit of work does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import case, exists, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County, township_unit
from fangpin_common.db import UTCDateTime
from fangpin_common.errors import DomainError
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_employment import sql
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.models import HouseholdHelper, Labourer
from fangpin_employment.policy import EmploymentPolicy
from fangpin_employment.returnees.models import Return
from fangpin_employment.vocabulary import POVERTY_CATEGORIES
from fangpin_employment.workinfo import rules
from fangpin_employment.workinfo.models import (
    Anomaly,
    BatchResult,
    Screening,
    StableCount,
    WorkRecord,
    WorkRecordIn,
)

RECORD_T = WorkRecord.__table__
UPDATED = ["location_type", "place", "months_worked", "wage_fen", "employer", "helper_name",
           "verified_on", "entered_by", "entered_on", "updated_at", "township", "village",
           "household_id"]


def _check(items: Sequence[WorkRecordIn], today: date, prefix: list) -> None:
    seen: dict[tuple, int] = {}
    for i, item in enumerate(items):
        where = [*prefix, i] if prefix else []
        for field, reason, code in rules.record_problems(
                year=item.year, quarter=item.quarter, months_worked=item.months_worked,
                wage_fen=item.wage_fen, verified_on=item.verified_on, today=today):
            raise DomainError([*where, field], reason, code)
        key = (item.labourer_id, item.year, item.quarter)
        if key in seen:
            raise DomainError([*where, "labourer_id"],
                              f"与第 {seen[key] + 1} 条记录重复（同一劳动力同一季度）", "duplicate")
        seen[key] = i


async def record_work(session: AsyncSession, items: Sequence[WorkRecordIn],
                      principal: Principal, clock: Clock, batch: bool) -> BatchResult:
    """Validate everything first (nothing is stored if one item is wrong), then upsert."""
    today, now = clock.today(), clock.now()
    prefix = ["records"] if batch else []
    _check(items, today, prefix)
    ids = list({item.labourer_id for item in items})
    found: dict[str, tuple] = {}
    for part in labourers._chunked(ids):
        rows = await session.execute(select(
            Labourer.id, Labourer.township, Labourer.village, Labourer.household_id,
        ).where(Labourer.id.in_(part)))
        found.update({r.id: r for r in rows})
    rows = []
    for i, item in enumerate(items):
        labourer = found.get(item.labourer_id)
        if labourer is None:
            raise DomainError([*prefix, i, "labourer_id"] if batch else "labourer_id",
                              f"劳动力 {item.labourer_id} 不存在", "unknown_labourer")
        ensure_reach(principal, labourer.township, labourer.village)
        rows.append(item.model_dump() | {
            "id": new_id(), "township": labourer.township, "village": labourer.village,
            "household_id": labourer.household_id, "entered_by": principal.sub,
            "entered_on": today, "updated_at": now})
    await sql.upsert(session, RECORD_T, rows, ["labourer_id", "year", "quarter"], UPDATED)
    met = await meet_work_deadlines(session, [
        (rules.subject_of(r["labourer_id"], r["year"], r["quarter"]), r["verified_on"])
        for r in rows if r["verified_on"] is not None])
    if batch:
        await audit.record(session, principal, entity_type="work_info_batch",
                           entity_id=new_id(), action="import", before=None,
                           after={"records": len(rows), "labourers": len(ids)}, now=now)
    else:
        await audit.record(session, principal, entity_type="work_record",
                           entity_id=rules.subject_of(rows[0]["labourer_id"], rows[0]["year"],
                                                      rows[0]["quarter"]),
                           action="upsert", before=None,
                           after={k: v for k, v in items[0].model_dump(mode="json").items()},
                           now=now)
    return BatchResult(stored=len(rows), deadlines_met=met)


async def meet_work_deadlines(session: AsyncSession, met: Sequence[tuple[str, date]]) -> int:
    """The set-based form of deadlines.meet_deadline, for a batch of verified records."""
    by_day: dict[date, list[str]] = defaultdict(list)
    for subject, day in met:
        by_day[day].append(subject)
    count = 0
    for day, subjects in by_day.items():
        for part in labourers._chunked(subjects):
            result = await session.execute(update(DEADLINES).where(
                DEADLINES.c.kind == rules.WORK_INFO_DEADLINE,
                DEADLINES.c.subject_id.in_(part),
                DEADLINES.c.state.in_(("open", "overdue"))).values(state="met", met_on=day))
            count += result.rowcount or 0
    return count


async def open_quarter_deadlines(session: AsyncSession, county: County, today: date,
                                 now: datetime) -> int:
    """One deadline per working-age labourer for the current quarter (idempotent).

    Due at the quarter's end: the helper verifies the quarter's work information with the
    household before it ends (E4). Labourers already verified for the quarter get none.
    """
    year, quarter = rules.quarter_of(today)
    start, end = rules.quarter_bounds(year, quarter)
    rule = county.deadline_rule(rules.WORK_INFO_DEADLINE, 0, 15)
    due_soon = max(start, end - timedelta(days=rule.warn_days))
    born_after, born_by = labourers.rules.birth_bounds(start, county.working_age)
    L, H = Labourer.__table__, HouseholdHelper.__table__
    verified = exists().where(RECORD_T.c.labourer_id == L.c.id, RECORD_T.c.year == year,
                              RECORD_T.c.quarter == quarter, RECORD_T.c.verified_on.is_not(None))
    responsible = func.coalesce(H.c.helper_unit, literal(township_unit("")) + L.c.township)
    context = sql.json_object(
        session, literal("labourer_id"), L.c.id, literal("year"), literal(year),
        literal("quarter"), literal(quarter), literal("name"), L.c.name,
        literal("responsible_unit"), responsible, literal("helper_name"), H.c.helper_name)
    source = (
        select(sql.random_id(session), literal(rules.WORK_INFO_DEADLINE), literal("labourer"),
               L.c.id + literal(f":{year}Q{quarter}"), L.c.household_id, L.c.township,
               L.c.village, literal(start), literal(end), literal(due_soon), literal("open"),
               context, literal(now, UTCDateTime))
        .select_from(L.outerjoin(H, H.c.household_id == L.c.household_id))
        .where(L.c.active, L.c.household_category.in_(POVERTY_CATEGORIES),
               L.c.birth_date > born_after, L.c.birth_date <= born_by, ~verified)
    )
    stmt = sql.insert_for(session, DEADLINES).from_select(
        ["id", "kind", "subject_type", "subject_id", "household_id", "township", "village",
         "started_on", "due_on", "due_soon_on", "state", "context", "created_at"], source,
    ).on_conflict_do_nothing(index_elements=["kind", "subject_id"])
    opened = (await session.execute(stmt)).rowcount or 0
    if opened > 10_000 and sql.dialect(session) == "postgresql":
        await session.execute(text("ANALYZE deadlines"))  # a quarter's worth at once
    return opened


async def list_records(session: AsyncSession, principal: Principal, county: County,
                       township: str | None, year: int, quarter: int | None,
                       labourer_id: str | None, limit: int, offset: int) -> list[WorkRecord]:
    query = select(WorkRecord).where(WorkRecord.year == year).order_by(
        WorkRecord.township, WorkRecord.village, WorkRecord.labourer_id, WorkRecord.quarter)
    if quarter:
        query = query.where(WorkRecord.quarter == quarter)
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(WorkRecord.township == code)
    else:
        query = within_reach(query, principal, WorkRecord.township, WorkRecord.village)
    if labourer_id:
        await labourers.get_labourer(session, labourer_id, principal)
        query = query.where(WorkRecord.labourer_id == labourer_id)
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


async def screen(session: AsyncSession, county: County, policy: EmploymentPolicy,
                 township_code: str, year: int, quarter: int) -> Screening:
    """Quarterly anomaly screening of one township's work information (E7)."""
    start, end = rules.quarter_bounds(year, quarter)
    born_after, born_by = labourers.rules.birth_bounds(start, county.working_age)
    people = {r.id: r for r in await session.execute(
        select(Labourer.id, Labourer.name, Labourer.village).where(
            Labourer.township == township_code, Labourer.active,
            Labourer.birth_date > born_after, Labourer.birth_date <= born_by))}
    records = list((await session.execute(select(WorkRecord).where(
        WorkRecord.township == township_code, WorkRecord.year == year,
        WorkRecord.quarter == quarter))).scalars())
    # Back home since before the quarter began and not left again before it ended.
    home_all_quarter = set((await session.execute(select(Return.labourer_id).where(
        Return.township == township_code, Return.back_since <= start,
        or_(Return.left_on.is_(None), Return.left_on > end)))).scalars())
    missing_ids = set(people) - {r.labourer_id for r in records}
    found: list[Anomaly] = []
    counts: dict[str, int] = defaultdict(int)
    extra_names = {}
    unknown = [r.labourer_id for r in records if r.labourer_id not in people]
    for part in labourers._chunked(unknown):
        extra_names.update({r.id: r for r in await session.execute(
            select(Labourer.id, Labourer.name, Labourer.village).where(Labourer.id.in_(part)))})
    for record in records:
        person = people.get(record.labourer_id) or extra_names.get(record.labourer_id)
        issues = rules.anomalies(
            year=year, quarter=quarter, months_worked=record.months_worked,
            wage_fen=record.wage_fen, location_type=record.location_type, place=record.place,
            employer=record.employer, verified_on=record.verified_on,
            entered_on=record.entered_on,
            min_monthly_fen=policy.wages.min_monthly_yuan * 100,
            max_monthly_fen=policy.wages.max_monthly_yuan * 100,
            home_all_quarter=record.labourer_id in home_all_quarter)
        if issues:
            for code, _ in issues:
                counts[code] += 1
            found.append(Anomaly(labourer_id=record.labourer_id,
                                 name=person.name if person else "",
                                 village=person.village if person else record.village,
                                 record_id=record.id, codes=[c for c, _ in issues],
                                 messages=[m for _, m in issues]))
    for lid in sorted(missing_ids, key=lambda i: (people[i].village, people[i].name, i)):
        person = people[lid]
        counts[rules.MISSING[0]] += 1
        found.append(Anomaly(labourer_id=lid, name=person.name, village=person.village,
                             record_id=None, codes=[rules.MISSING[0]],
                             messages=[rules.MISSING[1]]))
    found.sort(key=lambda a: (a.village, a.name, a.labourer_id))
    township = county.township(township_code)
    return Screening(township=township_code, township_name=township.name if township else "",
                     year=year, quarter=quarter, labourers=len(people), records=len(records),
                     counts=dict(sorted(counts.items())), anomalies=found)


async def stable_counts(session: AsyncSession, county: County, policy: EmploymentPolicy,
                        year: int) -> list[StableCount]:
    """Labourers with >= stable_months of work in the year, per township (E1)."""
    months = func.sum(WorkRecord.months_worked)
    per_labourer = (select(WorkRecord.labourer_id, WorkRecord.township)
                    .where(WorkRecord.year == year)
                    .group_by(WorkRecord.labourer_id, WorkRecord.township)
                    .having(months >= policy.stable_months).subquery())
    poverty = Labourer.household_category.in_(POVERTY_CATEGORIES)
    rows = await session.execute(
        select(per_labourer.c.township, func.count(),
               func.sum(case((poverty, 1), else_=0)))
        .select_from(per_labourer.join(Labourer, Labourer.id == per_labourer.c.labourer_id))
        .group_by(per_labourer.c.township))
    by_township = {r[0]: (r[1], int(r[2] or 0)) for r in rows}
    return [StableCount(township=t.code, township_name=t.name,
                        stable=by_township.get(t.code, (0, 0))[0],
                        stable_poverty=by_township.get(t.code, (0, 0))[1])
            for t in county.townships]


async def stable_labourers(session: AsyncSession, policy: EmploymentPolicy, year: int,
                           township: str) -> list[dict]:
    months = func.sum(WorkRecord.months_worked).label("months")
    rows = await session.execute(
        select(WorkRecord.labourer_id, Labourer.name, Labourer.village, months)
        .join(Labourer, Labourer.id == WorkRecord.labourer_id)
        .where(WorkRecord.year == year, WorkRecord.township == township)
        .group_by(WorkRecord.labourer_id, Labourer.name, Labourer.village)
        .having(func.sum(WorkRecord.months_worked) >= policy.stable_months)
        .order_by(Labourer.village, Labourer.name))
    return [dict(r._mapping) for r in rows]
