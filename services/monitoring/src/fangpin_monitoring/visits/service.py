"""Grid areas, the visit ledger and its deadlines applied to the database. Never commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, delete, func
from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox, revisions
from fangpin_common.auth import Principal, ensure_reach, mask_phone, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import meet_deadline, open_deadline
from fangpin_common.errors import DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_monitoring.households.models import Household
from fangpin_monitoring.households.service import resolve_township
from fangpin_monitoring.visits import rules
from fangpin_monitoring.visits.events import visit_recorded, visit_risk_found
from fangpin_monitoring.visits.models import (
    CoverageReport,
    CoverageRow,
    GridArea,
    GridAreaCreate,
    GridAreaHousehold,
    GridAreaRead,
    GridAreaUpdate,
    LeafletReport,
    LeafletRow,
    OpenDeadlinesResult,
    Visit,
    VisitCreate,
    VisitRead,
)

D = DEADLINES.c


def _rule(county: County, kind: str):
    days, warn = rules.DEFAULTS[kind]
    return county.deadline_rule(kind, days, warn)


# -- grid areas -----------------------------------------------------------------------------
async def _check_members(session: AsyncSession, area_id: str | None, township: str,
                         village: str, household_ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, household_id in enumerate(household_ids):
        if household_id in seen:
            raise DomainError(["household_ids", i], f"与第 {seen[household_id] + 1} 项重复",
                              "duplicate")
        seen[household_id] = i
    if not household_ids:
        return
    found = {h.id: h for h in (await session.exec(
        select(Household).where(Household.id.in_(household_ids)))).all()}
    taken = dict((await session.exec(
        select(GridAreaHousehold.household_id, GridAreaHousehold.grid_area_id).where(
            GridAreaHousehold.household_id.in_(household_ids)))).all())
    for i, household_id in enumerate(household_ids):
        household = found.get(household_id)
        if household is None:
            raise DomainError(["household_ids", i], f"农户 {household_id} 不存在",
                              "unknown_household")
        if (household.township, household.village) != (township, village):
            raise DomainError(["household_ids", i],
                              f"农户 {household_id} 属于{household.village}，"
                              f"不在本网格所在的{village}",
                              "outside_area")
        other = taken.get(household_id)
        if other is not None and other != area_id:
            raise DomainError(["household_ids", i],
                              f"农户 {household_id} 已属于网格 {other}，请先从该网格移出",
                              "in_other_area")


async def create_area(session: AsyncSession, data: GridAreaCreate, principal: Principal,
                      county: County, clock: Clock) -> GridAreaRead:
    township = resolve_township(county, data.township)
    ensure_reach(principal, township, data.village)
    await _check_members(session, None, township, data.village, data.household_ids)
    await _name_free(session, township, data.village, data.name, None)
    now = clock.now()
    area = GridArea(id=new_id(), township=township, created_at=now, updated_at=now,
                    **data.model_dump(exclude={"household_ids", "township"}))
    session.add(area)
    await session.flush()
    await _join(session, area, data.household_ids, county, clock)
    await audit.record(session, principal, entity_type="grid_area", entity_id=area.id,
                       action="create", before=None,
                       after=area.model_dump(mode="json") | {"household_ids": data.household_ids},
                       now=now)
    return read_area(area, data.household_ids, principal)


async def _name_free(session: AsyncSession, township: str, village: str, name: str,
                     area_id: str | None) -> None:
    other = (await session.exec(select(GridArea.id).where(
        GridArea.township == township, GridArea.village == village, GridArea.name == name))).first()
    if other is not None and other != area_id:
        raise DomainError("name", f"{village}已有名为“{name}”的网格", "duplicate_name")


async def _join(session: AsyncSession, area: GridArea, household_ids: list[str], county: County,
                clock: Clock) -> None:
    now = clock.now()
    for household_id in household_ids:
        session.add(GridAreaHousehold(household_id=household_id, grid_area_id=area.id,
                                      added_at=now))
    await session.flush()
    # A household that joins gets this month's deadline now, not at the next daily run.
    await open_deadlines(session, county, clock, [rules.month_start(clock.today())],
                         household_ids=household_ids)


async def _leave(session: AsyncSession, household_ids: list[str], today: date) -> None:
    """Households leaving their area: next months' deadlines (not started yet) go too."""
    if not household_ids:
        return
    await session.execute(delete(GridAreaHousehold).where(
        GridAreaHousehold.household_id.in_(household_ids)))
    await session.execute(delete(DEADLINES).where(
        D.kind == rules.MONTHLY, D.household_id.in_(household_ids), D.state == "open",
        D.started_on > today))


# How a 412 names what another person changed.
AREA_LABELS = {"name": "网格名称", "worker_name": "网格员", "worker_phone": "网格员电话",
               "household_ids": "负责的农户"}


async def update_area(session: AsyncSession, area_id: str, data: GridAreaUpdate,
                      principal: Principal, county: County, clock: Clock,
                      expected: int) -> GridAreaRead:
    """A replacement based on revision `expected`: 412 if the area changed since."""
    await get_area(session, area_id, principal)  # out of reach: 404/403, not 412
    await revisions.claim(session, GridArea, area_id, expected, label="网格",
                          audit=("grid_area", area_id), labels=AREA_LABELS)
    area, members = await get_area(session, area_id, principal, fresh=True)
    await _check_members(session, area.id, area.township, area.village, data.household_ids)
    await _name_free(session, area.township, area.village, data.name, area.id)
    before = area.model_dump(mode="json") | {"household_ids": members, "revision": expected}
    now = clock.now()
    area.name, area.worker_name, area.worker_phone = data.name, data.worker_name, data.worker_phone
    area.updated_at = now
    session.add(area)
    await _leave(session, [h for h in members if h not in data.household_ids], clock.today())
    await _join(session, area, [h for h in data.household_ids if h not in members], county, clock)
    await audit.record(session, principal, entity_type="grid_area", entity_id=area.id,
                       action="update", before=before,
                       after=area.model_dump(mode="json") | {"household_ids": data.household_ids},
                       now=now)
    return read_area(area, data.household_ids, principal)


async def delete_area(session: AsyncSession, area_id: str, principal: Principal,
                      clock: Clock, expected: int) -> None:
    """Removal based on revision `expected`: 412 if the area changed since."""
    await get_area(session, area_id, principal)
    await revisions.claim(session, GridArea, area_id, expected, label="网格",
                          audit=("grid_area", area_id), labels=AREA_LABELS)
    area, members = await get_area(session, area_id, principal, fresh=True)
    before = area.model_dump(mode="json") | {"household_ids": members}
    await _leave(session, members, clock.today())
    await session.delete(area)
    await audit.record(session, principal, entity_type="grid_area", entity_id=area.id,
                       action="delete", before=before, after=None, now=clock.now())


async def get_area(session: AsyncSession, area_id: str, principal: Principal,
                   fresh: bool = False) -> tuple[GridArea, list[str]]:
    """The area and its households; `fresh` reads the row again (after revisions.claim)."""
    area = await session.get(GridArea, area_id, populate_existing=fresh)
    if area is None:
        raise NotFound(f"网格 {area_id} 不存在")
    ensure_reach(principal, area.township, area.village)
    members = (await session.exec(select(GridAreaHousehold.household_id).where(
        GridAreaHousehold.grid_area_id == area.id).order_by(GridAreaHousehold.household_id))).all()
    return area, list(members)


async def list_areas(session: AsyncSession, principal: Principal,
                     village: str | None) -> list[GridAreaRead]:
    query = _scoped(select(GridArea), GridArea, principal).order_by(GridArea.township,
                                                                      GridArea.village,
                                                                      GridArea.name)
    if village:
        query = query.where(GridArea.village == village)
    areas = (await session.exec(query)).all()
    members: dict[str, list[str]] = {a.id: [] for a in areas}
    if areas:
        for household_id, area_id in (await session.exec(
                select(GridAreaHousehold.household_id, GridAreaHousehold.grid_area_id).where(
                    GridAreaHousehold.grid_area_id.in_(list(members))))).all():
            members[area_id].append(household_id)
    return [read_area(a, sorted(members[a.id]), principal) for a in areas]


def read_area(area: GridArea, household_ids: list[str], principal: Principal) -> GridAreaRead:
    phone = area.worker_phone if principal.sees_identity_numbers else mask_phone(area.worker_phone)
    return GridAreaRead(**(area.model_dump() | {"worker_phone": phone,
                                                "household_ids": household_ids}))


def _scoped(query, table, principal: Principal):
    return within_reach(query, principal, table.township, table.village)


# -- visits ---------------------------------------------------------------------------------
async def record_visit(session: AsyncSession, data: VisitCreate, principal: Principal,
                       clock: Clock) -> VisitRead:
    today = clock.today()
    household = await session.get(Household, data.household_id)
    if household is None:
        raise DomainError("household_id", f"农户 {data.household_id} 不存在", "unknown_household")
    ensure_reach(principal, household.township, household.village)
    if problem := rules.visit_date_problem(data.visited_on, today):
        raise DomainError("visited_on", problem, "invalid_date")
    if problem := rules.risk_problem(data.risk_found, list(data.risk_types)):
        raise DomainError(problem[0], problem[1], "inconsistent")
    area_id = (await session.exec(select(GridAreaHousehold.grid_area_id).where(
        GridAreaHousehold.household_id == household.id))).first()
    now = clock.now()
    visit = Visit(id=new_id(), township=household.township, village=household.village,
                  grid_area_id=area_id, recorded_by=principal.sub, created_at=now,
                  **(data.model_dump() | {"risk_types": list(data.risk_types)}))
    session.add(visit)
    await session.flush()
    met = []
    day = data.visited_on
    if await meet_deadline(session, rules.MONTHLY,
                           rules.monthly_subject(household.id, rules.month_start(day)), day):
        met.append(rules.MONTHLY)
    if await meet_deadline(session, rules.Q1, rules.q1_subject(household.id, day.year), day):
        met.append(rules.Q1)
    await audit.record(session, principal, entity_type="visit", entity_id=visit.id,
                       action="create", before=None, after=visit.model_dump(mode="json"), now=now)
    await outbox.emit(session, visit_recorded(visit, now))
    if visit.risk_found:
        await outbox.emit(session, visit_risk_found(visit, now))
    return VisitRead(**visit.model_dump(), deadlines_met=met)


async def get_visit(session: AsyncSession, visit_id: str, principal: Principal) -> VisitRead:
    visit = await session.get(Visit, visit_id)
    if visit is None:
        raise NotFound(f"走访记录 {visit_id} 不存在")
    ensure_reach(principal, visit.township, visit.village)
    return VisitRead(**visit.model_dump())


async def list_visits(session: AsyncSession, principal: Principal, household_id: str | None,
                      village: str | None, since: date | None, until: date | None,
                      limit: int, offset: int) -> list[VisitRead]:
    query = _scoped(select(Visit), Visit, principal)
    if household_id:
        query = query.where(Visit.household_id == household_id)
    if village:
        query = query.where(Visit.village == village)
    if since:
        query = query.where(Visit.visited_on >= since)
    if until:
        query = query.where(Visit.visited_on <= until)
    query = query.order_by(Visit.visited_on.desc(), Visit.id).limit(limit).offset(offset)
    return [VisitRead(**v.model_dump()) for v in (await session.exec(query)).all()]


# -- deadlines ------------------------------------------------------------------------------
async def open_deadlines(session: AsyncSession, county: County, clock: Clock,
                         months: list[date] | None = None,
                         household_ids: list[str] | None = None) -> OpenDeadlinesResult:
    """Open the monthly visit deadline of every grid household and, in Q1 months, the Q1 full
    visit of every 脱贫户/监测户 — only those not open yet, so running twice opens nothing twice.
    A visit already made in the period meets the new deadline at once."""
    if session.bind.dialect.name == "postgresql":
        # Two replicas running the job at once would race for the same rows.
        await session.execute(sa_select(func.pg_advisory_xact_lock(7_302_025)))
    months = months or rules.months_to_open(clock.today())
    result = OpenDeadlinesResult(months=[f"{m:%Y-%m}" for m in months], monthly_opened=0,
                                 q1_opened=0, met_on_opening=0)
    for month in months:
        query = select(GridAreaHousehold.household_id, GridAreaHousehold.grid_area_id,
                       Household.township, Household.village, GridArea.worker_name).join(
            Household, Household.id == GridAreaHousehold.household_id).join(
            GridArea, GridArea.id == GridAreaHousehold.grid_area_id)
        if household_ids is not None:
            query = query.where(GridAreaHousehold.household_id.in_(household_ids))
        targets = [(h, t, v, {"grid_area_id": a, "grid_worker": w, "month": f"{month:%Y-%m}"})
                   for h, a, t, v, w in (await session.exec(query)).all()]
        opened, met = await _open(session, county, clock, rules.MONTHLY, targets, month,
                                  rules.month_end(month),
                                  lambda h, m=month: rules.monthly_subject(h, m))
        result.monthly_opened += opened
        result.met_on_opening += met
        if month.month <= 3:
            year = month.year
            query = select(Household.id, Household.township, Household.village).where(
                Household.category.in_(rules.Q1_CATEGORIES))
            if household_ids is not None:
                query = query.where(Household.id.in_(household_ids))
            targets = [(h, t, v, {"year": year}) for h, t, v in (await session.exec(query)).all()]
            opened, met = await _open(session, county, clock, rules.Q1, targets,
                                      date(year, 1, 1), date(year, 3, 31),
                                      lambda h, y=year: rules.q1_subject(h, y))
            result.q1_opened += opened
            result.met_on_opening += met
    return result


async def _open(session: AsyncSession, county: County, clock: Clock, kind: str, targets: list,
                start: date, end: date, subject_of) -> tuple[int, int]:
    if not targets:
        return 0, 0
    existing = set((await session.execute(sa_select(D.subject_id).where(
        D.kind == kind, D.started_on == start))).scalars())
    missing = [t for t in targets if subject_of(t[0]) not in existing]
    if not missing:
        return 0, 0
    # Visits already made in the period (Q1: in the year; late visits meet it late).
    last_day = end if kind == rules.MONTHLY else date(start.year, 12, 31)
    first_visit = dict((await session.execute(
        sa_select(Visit.household_id, func.min(Visit.visited_on)).where(
            Visit.visited_on >= start, Visit.visited_on <= last_day,
            Visit.household_id.in_([t[0] for t in missing])).group_by(Visit.household_id))).all())
    rule = _rule(county, kind)
    now = clock.now()
    met = 0
    for household_id, township, village, context in missing:
        subject = subject_of(household_id)
        await open_deadline(session, rule, subject_type="household", subject_id=subject,
                            started_on=start, due_on=rules.due_on(end, rule.days), now=now,
                            household_id=household_id, township=township, village=village,
                            context=context)
        if household_id in first_visit:
            met += await meet_deadline(session, kind, subject, first_visit[household_id])
    return len(missing), met


# -- coverage -------------------------------------------------------------------------------
async def coverage(session: AsyncSession, principal: Principal, period: rules.Period,
                   level: str, township: str | None) -> CoverageReport:
    met = D.state == "met"
    group = [D.township] if level == "township" else [D.township, D.village]
    query = sa_select(
        *group, func.count(),
        func.sum(case((met, 1), else_=0)),
        func.sum(case((and_(met, D.met_on <= D.due_on), 1), else_=0)),
        func.sum(case((D.state == "overdue", 1), else_=0)),
    ).where(D.kind == period.kind, D.started_on == period.start).group_by(*group).order_by(*group)
    query = _scoped(query, D, principal)
    if township:
        query = query.where(D.township == township)
    rows = []
    for row in (await session.execute(query)).all():
        values = list(row)
        village = values.pop(1) if level == "village" else None
        t, due, visited, on_time, overdue = values
        rows.append(CoverageRow(township=t, village=village, due=due, visited=int(visited or 0),
                                visited_on_time=int(on_time or 0), overdue=int(overdue or 0),
                                rate=rules.rate(int(visited or 0), due)))
    due = sum(r.due for r in rows)
    visited = sum(r.visited for r in rows)
    total = CoverageRow(township=township or principal.township or "全县", village=None,
                        due=due, visited=visited,
                        visited_on_time=sum(r.visited_on_time for r in rows),
                        overdue=sum(r.overdue for r in rows), rate=rules.rate(visited, due))
    return CoverageReport(period=period.label, kind=period.kind, level=level, rows=rows,
                          total=total)


async def leaflet_coverage(session: AsyncSession, principal: Principal, year: int | None,
                           township: str | None) -> LeafletReport:
    """Per village: households, and those told the policy 明白纸 at a visit (M2)."""
    told = sa_select(Visit.household_id).where(Visit.leaflet_explained.is_(True))
    if year is not None:
        told = told.where(Visit.visited_on >= date(year, 1, 1),
                          Visit.visited_on <= date(year, 12, 31))
    explained = case((Household.id.in_(told.scalar_subquery()), 1), else_=0)
    query = sa_select(Household.township, Household.village, func.count(),
                      func.sum(explained)).group_by(Household.township, Household.village
                                                    ).order_by(Household.township,
                                                               Household.village)
    query = _scoped(query, Household, principal)
    if township:
        query = query.where(Household.township == township)
    rows = [LeafletRow(township=t, village=v, households=n, explained=int(e or 0),
                       rate=rules.rate(int(e or 0), n))
            for t, v, n, e in (await session.execute(query)).all()]
    return LeafletReport(year=year, rows=rows)

