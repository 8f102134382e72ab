"""Income collection and the income-growth ledger applied to the database. Never commits."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import case, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import meet_deadline, open_deadlines
from fangpin_common.errors import DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.income import rules
from fangpin_monitoring.income.models import (
    CollectionRoundRead,
    HouseholdIncomeRead,
    IncomeMonth,
    IncomeMonthRead,
    IncomeRecord,
    LedgerRow,
)
from fangpin_monitoring.refusals import refuse_if

SIGNED = case(*[(IncomeRecord.source == source, sign * IncomeRecord.amount_fen)
                for source, sign in rules.SOURCES.items()], else_=0)


def collection_rule(county: County):
    return county.deadline_rule(rules.COLLECTION_DEADLINE, rules.DEFAULT_COLLECTION_DAYS,
                                rules.DEFAULT_COLLECTION_WARN)


def collection_subject(household_id: str, period: str) -> str:
    return f"{household_id}:{period}"


async def persons_of(session: AsyncSession, household_ids: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(Member.household_id, func.count()).where(Member.household_id.in_(household_ids),
                                                        Member.deceased == False)  # noqa: E712
        .group_by(Member.household_id))
    return defaultdict(int, dict(rows.all()))


async def monthly_net(session: AsyncSession, household_id: str,
                      periods: list[str]) -> dict[str, int]:
    """Net income (fen) of each collected month among `periods`."""
    rows = await session.execute(
        select(IncomeRecord.period, func.sum(SIGNED)).where(
            IncomeRecord.household_id == household_id, IncomeRecord.period.in_(periods))
        .group_by(IncomeRecord.period))
    return {period: int(total) for period, total in rows.all()}


async def household_for(session: AsyncSession, household_id: str,
                        principal: Principal) -> Household:
    household = await session.get(Household, household_id)
    if household is None:
        raise NotFound(f"农户 {household_id} 不存在")
    ensure_reach(principal, household.township, household.village)
    return household


async def record_month(session: AsyncSession, household_id: str, period: str, data: IncomeMonth,
                       principal: Principal, clock: Clock) -> list[IncomeRecord]:
    """One month's income by source; it answers that month's collection deadline."""
    household = await household_for(session, household_id, principal)
    today = clock.today()
    if problem := rules.period_problem(period, today):
        raise DomainError("period", problem, "invalid_period", location="path")
    seen: dict[str, int] = {}
    problems = []
    for i, item in enumerate(data.items):
        if item.source in seen:
            problems.append((["items", i, "source"],
                             f"与第 {seen[item.source] + 1} 项收入来源重复：{item.source}",
                             "duplicate"))
        seen[item.source] = i
    refuse_if(problems)
    old = list((await session.execute(select(IncomeRecord).where(
        IncomeRecord.household_id == household.id, IncomeRecord.period == period))).scalars())
    before = {r.source: r.amount_fen for r in old} or None
    await session.execute(delete(IncomeRecord).where(IncomeRecord.household_id == household.id,
                                                     IncomeRecord.period == period))
    now = clock.now()
    records = [IncomeRecord(id=new_id(), household_id=household.id, period=period,
                            source=item.source, amount_fen=rules.yuan_to_fen(item.amount_yuan),
                            recorded_by=principal.sub, recorded_on=today, created_at=now)
               for item in data.items]
    session.add_all(records)
    await session.flush()
    await meet_deadline(session, rules.COLLECTION_DEADLINE,
                        collection_subject(household.id, period), today)
    await audit.record(session, principal, entity_type="household_income",
                       entity_id=household.id, action=f"income:{period}", before=before,
                       after={r.source: r.amount_fen for r in records}, now=now)
    return records


async def household_income(session: AsyncSession, household_id: str, year: int,
                           principal: Principal, county: County) -> HouseholdIncomeRead:
    household = await household_for(session, household_id, principal)
    records = (await session.execute(select(IncomeRecord).where(
        IncomeRecord.household_id == household.id,
        IncomeRecord.period.like(f"{year:04d}-%")).order_by(IncomeRecord.period))).scalars()
    months: dict[str, dict[str, int]] = defaultdict(dict)
    for r in records:
        months[r.period][r.source] = r.amount_fen
    persons = (await persons_of(session, [household.id]))[household.id]
    total = sum(rules.net_fen(items.items()) for items in months.values())
    return HouseholdIncomeRead(
        household_id=household.id, year=year, persons=persons,
        months=[IncomeMonthRead(period=p, items={s: Decimal(v) / 100 for s, v in items.items()},
                                net_yuan=Decimal(rules.net_fen(items.items())) / 100)
                for p, items in sorted(months.items())],
        months_recorded=len(months), net_yuan=Decimal(total) / 100,
        per_capita_yuan=rules.per_capita_yuan(total, persons, len(months)),
        line_yuan=county.income_line_yuan)


async def ledger(session: AsyncSession, principal: Principal, county: County, year: int,
                 township: str | None = None) -> list[LedgerRow]:
    """The income-growth ledger (增收台账): under the line, income fell, relocated (M6)."""
    query = select(Household.id, Household.township, Household.village, Household.head_name,
                   Household.category, Household.relocation_site)
    query = within_reach(query, principal, Household.township, Household.village,
                         resource="income_ledger", entity=Household)
    if township:
        query = query.where(Household.township == township)
    households = (await session.execute(query.order_by(Household.township, Household.village,
                                                       Household.id))).all()
    if not households:
        return []
    year_of = func.substr(IncomeRecord.period, 1, 4)
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    rows = await session.execute(
        select(IncomeRecord.household_id, year_of, func.sum(SIGNED),
               func.count(func.distinct(IncomeRecord.period)))
        .where(IncomeRecord.period >= f"{year - 1}-01", IncomeRecord.period <= f"{year}-12")
        .group_by(IncomeRecord.household_id, year_of))
    for household_id, y, total, months in rows.all():
        totals[(household_id, str(y))] = (int(total), int(months))
    persons = await persons_of(session, [h.id for h in households])
    out = []
    line = county.income_line_yuan
    for h in households:
        this_fen, this_months = totals.get((h.id, str(year)), (0, 0))
        last_fen, last_months = totals.get((h.id, str(year - 1)), (0, 0))
        entry = rules.ledger_entry(year, this_fen, this_months, last_fen, last_months,
                                   persons[h.id], h.relocation_site, line)
        if entry.reasons:
            out.append(LedgerRow(
                household_id=h.id, township=h.township, village=h.village,
                head_name=h.head_name, category=h.category, persons=persons[h.id],
                per_capita_yuan=entry.per_capita, basis_year=entry.basis_year,
                months_recorded=this_months, previous_per_capita_yuan=entry.previous,
                reasons=entry.reasons, reason_names=[rules.REASON_NAMES[r] for r in entry.reasons]))
    return out


async def open_collection_round(session: AsyncSession, period: str, principal: Principal,
                                county: County, clock: Clock) -> CollectionRoundRead:
    """Monthly income collection: one deadline per household on the ledger (idempotent)."""
    today = clock.today()
    if problem := rules.period_problem(period, today):
        raise DomainError("period", problem, "invalid_period")
    entries = await ledger(session, principal, county, int(period[:4]))
    existing = set((await session.execute(select(DEADLINES.c.subject_id).where(
        DEADLINES.c.kind == rules.COLLECTION_DEADLINE,
        DEADLINES.c.subject_id.like(f"%:{period}")))).scalars())
    rule = collection_rule(county)
    started = rules.month_after(period)
    items = [{"subject_id": collection_subject(e.household_id, period),
              "household_id": e.household_id, "township": e.township, "village": e.village,
              "context": {"period": period, "reasons": e.reasons}}
             for e in entries if collection_subject(e.household_id, period) not in existing]
    opened = await open_deadlines(session, rule, items, subject_type="household_income",
                                  started_on=started, now=clock.now())
    return CollectionRoundRead(period=period, opened=opened, already_open=len(entries) - opened,
                               due_on=rule.due_on(started))
