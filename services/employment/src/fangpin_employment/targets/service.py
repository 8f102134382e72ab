"""Target progress from the records (E1). The targets themselves are read, never computed."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.county import County
from fangpin_employment.labourers.models import Labourer
from fangpin_employment.policy import EmploymentPolicy
from fangpin_employment.targets import rules
from fangpin_employment.targets.models import Progress, ProgressRow, TargetRead, TargetTable
from fangpin_employment.vocabulary import POVERTY_CATEGORIES
from fangpin_employment.workinfo import service as workinfo
from fangpin_employment.workinfo.models import WorkRecord


def table(county: County, policy: EmploymentPolicy) -> TargetTable:
    rows = []
    for target in county.transfer_targets:
        township = county.township(target.township)
        rows.append(TargetRead(township=township.code, township_name=township.name,
                               general=target.general,
                               poverty_alleviated=target.poverty_alleviated, total=target.total))
    total = county.transfer_targets_total
    return TargetTable(year=policy.year, townships=rows, total=None if total is None else
                       TargetRead(township="", township_name=total.township,
                                  general=total.general,
                                  poverty_alleviated=total.poverty_alleviated,
                                  total=total.total))


async def progress(session: AsyncSession, county: County, policy: EmploymentPolicy,
                   year: int) -> Progress:
    """Distinct labourers in transfer employment in the year (a quarter with >= 1 month of
    off-farm work at a known place), per township, 脱贫 and general; stable work against 2023."""
    worked = (select(WorkRecord.labourer_id).where(
        WorkRecord.year == year, WorkRecord.months_worked > 0,
        WorkRecord.location_type.is_not(None)).distinct().subquery())
    poverty = Labourer.household_category.in_(POVERTY_CATEGORIES)
    counted = {r[0]: (int(r[1]), int(r[2] or 0)) for r in await session.execute(
        select(Labourer.township, func.count(), func.sum(case((poverty, 1), else_=0)))
        .join(worked, worked.c.labourer_id == Labourer.id).group_by(Labourer.township))}
    stable = {s.township: s.stable_poverty
              for s in await workinfo.stable_counts(session, county, policy, year)}
    targets = {t.township: t for t in table(county, policy).townships}
    rows = []
    for township in county.townships:
        total, poor = counted.get(township.code, (0, 0))
        target = targets.get(township.code)
        level = policy.stable_2023.by_township.get(township.name,
                                                   policy.stable_2023.by_township.get(
                                                       township.code))
        rows.append(ProgressRow(
            township=township.code, township_name=township.name,
            target_general=target.general if target else None,
            target_poverty=target.poverty_alleviated if target else None,
            target_total=target.total if target else None,
            transferred_general=total - poor, transferred_poverty=poor, transferred_total=total,
            progress_total=rules.percent(total, target.total if target else None),
            progress_poverty=rules.percent(poor, target.poverty_alleviated if target else None),
            stable_poverty=stable.get(township.code, 0), stable_2023=level,
            stable_vs_2023=rules.versus(stable.get(township.code, 0), level)))
    given = county.transfer_targets_total
    total = sum(r.transferred_total for r in rows)
    poor = sum(r.transferred_poverty for r in rows)
    stable_all = sum(r.stable_poverty for r in rows)
    rows.append(ProgressRow(
        township=None, township_name="合计",
        target_general=given.general if given else None,
        target_poverty=given.poverty_alleviated if given else None,
        target_total=given.total if given else None,
        transferred_general=total - poor, transferred_poverty=poor, transferred_total=total,
        progress_total=rules.percent(total, given.total if given else None),
        progress_poverty=rules.percent(poor, given.poverty_alleviated if given else None),
        stable_poverty=stable_all, stable_2023=policy.stable_2023.total,
        stable_vs_2023=rules.versus(stable_all, policy.stable_2023.total)))
    return Progress(year=year, rows=rows)


def as_table(result: Progress) -> list[list]:
    return [[r.township_name, r.target_general, r.target_poverty, r.target_total,
             r.transferred_general, r.transferred_poverty, r.transferred_total,
             r.progress_total, r.progress_poverty, r.stable_poverty, r.stable_2023,
             r.stable_vs_2023] for r in result.rows]
