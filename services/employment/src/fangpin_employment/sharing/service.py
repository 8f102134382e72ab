"""The quarter's export for the HR bureau and its record. Never commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError
from fangpin_common.events.employment import WorkInfoShared, WorkInfoSharedData
from fangpin_common.ids import new_id
from fangpin_employment.labourers.models import Labourer
from fangpin_employment.returnees.models import KeyGroupMember
from fangpin_employment.returnees.service import open_on
from fangpin_employment.sharing import rules
from fangpin_employment.sharing.models import Share
from fangpin_employment.workinfo.models import WorkRecord
from fangpin_employment.workinfo.rules import quarter_bounds


def check(year: int, quarter: int, clock: Clock) -> None:
    if problem := rules.share_problem(year, quarter, clock.today()):
        raise DomainError("quarter", problem, "quarter_not_over", location="path")


async def export(session: AsyncSession, county: County, year: int,
                 quarter: int) -> tuple[list[list], list[list]]:
    names = {t.code: t.name for t in county.townships}
    work = [[names.get(w.township, w.township), w.village, w.labourer_id, name, w.year,
             w.quarter, w.location_type or "", w.place or "", w.months_worked,
             rules.yuan(w.wage_fen), w.employer or "",
             w.verified_on.isoformat() if w.verified_on else ""]
            for w, name in await session.execute(
                select(WorkRecord, Labourer.name)
                .join(Labourer, Labourer.id == WorkRecord.labourer_id)
                .where(WorkRecord.year == year, WorkRecord.quarter == quarter))]
    end = quarter_bounds(year, quarter)[1]
    groups = [[names.get(m.township, m.township), m.village, m.labourer_id, name, m.key_group,
               m.since.isoformat(), m.outcome or "",
               m.outcome_on.isoformat() if m.outcome_on else ""]
              for m, name in await session.execute(
                  select(KeyGroupMember, Labourer.name)
                  .join(Labourer, Labourer.id == KeyGroupMember.labourer_id)
                  .where(open_on(end), Labourer.active))]
    order = {t.name: i for i, t in enumerate(county.townships)}
    work.sort(key=lambda r: (order.get(r[0], 99), r[1], r[3], r[2]))
    groups.sort(key=lambda r: (order.get(r[0], 99), r[1], r[3], r[4], r[2]))
    return work, groups


async def share(session: AsyncSession, county: County, year: int, quarter: int,
                principal: Principal, clock: Clock) -> Share:
    check(year, quarter, clock)
    work, groups = await export(session, county, year, quarter)
    townships = sorted({r[0] for r in work} | {r[0] for r in groups})
    codes = [t.code for t in county.townships if t.name in townships]
    row = Share(id=new_id(), year=year, quarter=quarter, shared_on=clock.today(),
                shared_by=principal.sub, work_records=len(work), key_group_members=len(groups),
                townships=codes, created_at=clock.now())
    session.add(row)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{year}年第{quarter}季度已共享") from exc
    await audit.record(session, principal, entity_type="quarter_share", entity_id=row.id,
                       action="share", before=None, after=row.model_dump(mode="json"),
                       now=clock.now())
    await outbox.emit(session, WorkInfoShared(subject=row.id, time=clock.now(),
                                              data=WorkInfoSharedData(
        share_id=row.id, year=year, quarter=quarter, work_records=len(work),
        key_group_members=len(groups), townships=codes, shared_on=row.shared_on)))
    return row
