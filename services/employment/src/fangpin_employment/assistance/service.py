"""The "251" ledger applied to the database. Never commits: the request's unit of work does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.deadlines import meet_deadline
from fangpin_common.errors import DomainError
from fangpin_common.ids import new_id
from fangpin_employment.assistance import rules
from fangpin_employment.assistance.models import (
    AssistanceItem,
    ItemCreate,
    ItemRead,
    Ledger,
    Progress,
)
from fangpin_employment.labourers import service as labourers
from fangpin_employment.policy import EmploymentPolicy
from fangpin_employment.returnees.models import Return
from fangpin_employment.returnees.rules import RETURNEE_ASSISTANCE_DEADLINE


async def record_item(session: AsyncSession, labourer_id: str, body: ItemCreate,
                      principal: Principal, policy: EmploymentPolicy,
                      clock: Clock) -> AssistanceItem:
    labourer = await labourers.get_labourer(session, labourer_id, principal)
    today, now = clock.today(), clock.now()
    for field, reason in rules.item_problems(kind=body.kind, item_on=body.item_on, today=today,
                                             package=policy.service_package):
        raise DomainError(field, reason, "invalid_item")
    item = AssistanceItem(id=new_id(), labourer_id=labourer.id,
                          household_id=labourer.household_id, township=labourer.township,
                          village=labourer.village, recorded_by=principal.sub, recorded_at=now,
                          **body.model_dump())
    await audit.added(session, principal, item, entity_type="assistance_item", action="record",
                      now=now)
    # A returnee's "251" deadline is met once the package is complete.
    completed = await completed_on(session, labourer.id, today, policy)
    if completed is not None:
        open_return = (await session.execute(select(Return.id).where(
            Return.labourer_id == labourer.id, Return.state == "returnee"))).scalar()
        if open_return is not None:
            await meet_deadline(session, RETURNEE_ASSISTANCE_DEADLINE, open_return, completed)
    return item


async def counts_for(session: AsyncSession, labourer_ids: Sequence[str] | None, year: int,
                     as_of: date, township: str | None = None) -> dict[str, dict[str, int]]:
    """Items per labourer and kind in the year up to `as_of`."""
    query = (select(AssistanceItem.labourer_id, AssistanceItem.kind, func.count())
             .where(AssistanceItem.item_on >= date(year, 1, 1), AssistanceItem.item_on <= as_of)
             .group_by(AssistanceItem.labourer_id, AssistanceItem.kind))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    if township is not None:
        rows = await session.execute(query.where(AssistanceItem.township == township))
        for lid, kind, n in rows:
            out[lid][kind] = n
        return out
    for part in labourers._chunked(list(labourer_ids or [])):
        for lid, kind, n in await session.execute(
                query.where(AssistanceItem.labourer_id.in_(part))):
            out[lid][kind] = n
    return out


async def completed_set(session: AsyncSession, labourer_ids: Sequence[str], on: date,
                        policy: EmploymentPolicy) -> set[str]:
    """Those of the labourers whose package for the year is complete by `on`."""
    counts = await counts_for(session, labourer_ids, on.year, on)
    return {lid for lid, c in counts.items() if rules.carried_out(c, policy.service_package)}


async def completed_on(session: AsyncSession, labourer_id: str, on: date,
                       policy: EmploymentPolicy) -> date | None:
    """The day the year's package became complete (by the items' dates), or None."""
    dates = await session.execute(select(AssistanceItem.kind, AssistanceItem.item_on).where(
        AssistanceItem.labourer_id == labourer_id, AssistanceItem.item_on >= date(on.year, 1, 1),
        AssistanceItem.item_on <= on).order_by(AssistanceItem.item_on))
    counts: dict[str, int] = defaultdict(int)
    for kind, day in dates:
        counts[kind] += 1
        if rules.carried_out(counts, policy.service_package):
            return day
    return None


async def ledger(session: AsyncSession, labourer_id: str, principal: Principal,
                 policy: EmploymentPolicy, year: int, as_of: date) -> Ledger:
    labourer = await labourers.get_labourer(session, labourer_id, principal)
    items = list((await session.execute(select(AssistanceItem).where(
        AssistanceItem.labourer_id == labourer.id,
        AssistanceItem.item_on >= date(year, 1, 1), AssistanceItem.item_on <= as_of,
    ).order_by(AssistanceItem.item_on, AssistanceItem.recorded_at))).scalars())
    labels = {p.kind: p.label for p in policy.service_package}
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.kind] += 1
    return Ledger(
        labourer_id=labourer.id, name=labourer.name, year=year,
        items=[ItemRead(**i.model_dump(), label=labels.get(i.kind, i.kind)) for i in items],
        progress=[Progress(kind=k, label=label, required=r, done=d)
                  for k, label, r, d in rules.progress(counts, policy.service_package)],
        carried_out=rules.carried_out(counts, policy.service_package),
        has_ledger=rules.has_ledger(counts))


async def village_ledger(session: AsyncSession, township: str, village: str | None, year: int,
                         as_of: date, policy: EmploymentPolicy) -> list[dict]:
    """The village's copy of its helpers' ledgers: every item, by labourer and date."""
    query = (select(AssistanceItem, labourers.Labourer.name)
             .join(labourers.Labourer, labourers.Labourer.id == AssistanceItem.labourer_id)
             .where(AssistanceItem.township == township,
                    AssistanceItem.item_on >= date(year, 1, 1), AssistanceItem.item_on <= as_of)
             .order_by(AssistanceItem.village, labourers.Labourer.name, AssistanceItem.item_on))
    if village:
        query = query.where(AssistanceItem.village == village)
    labels = {p.kind: p.label for p in policy.service_package}
    return [ItemRead(**item.model_dump(), label=labels.get(item.kind, item.kind)).model_dump(
        mode="json") | {"name": name, "village": item.village}
        for item, name in await session.execute(query)]
