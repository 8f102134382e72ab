"""Supervision records applied to the database. Never commits."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_employment.labourers import service as labourers
from fangpin_employment.supervision import rules
from fangpin_employment.supervision.models import (
    Check,
    CheckCreate,
    CheckRead,
    Finding,
    FindingRead,
    QuarterSummary,
    Rectified,
    TownshipSummary,
)
from fangpin_employment.workinfo.rules import quarter_bounds


async def record(session: AsyncSession, body: CheckCreate, principal: Principal,
                 county: County, clock: Clock) -> CheckRead:
    township = labourers.resolve_township(county, body.township)
    for loc, reason in rules.check_problems(
            checked_on=body.checked_on, today=clock.today(),
            notify_units=[f.notify_units for f in body.findings],
            known_units={u.code for u in county.all_units()}):
        raise DomainError(loc, reason, "invalid")
    check = Check(id=new_id(), township=township, checked_on=body.checked_on,
                  unannounced=body.unannounced, inspectors=body.inspectors, scope=body.scope,
                  created_by=principal.sub, created_at=clock.now())
    findings = [Finding(id=new_id(), check_id=check.id, township=township,
                        **f.model_dump()) for f in body.findings]
    session.add(check)
    await session.flush()
    session.add_all(findings)
    await session.flush()
    await audit.record(session, principal, entity_type="supervision_check", entity_id=check.id,
                       action="record", before=None, after=check.model_dump(mode="json")
                       | {"findings": len(findings)}, now=clock.now())
    return CheckRead(**check.model_dump(),
                     findings=[FindingRead(**f.model_dump()) for f in findings])


async def rectify(session: AsyncSession, finding_id: str, body: Rectified, principal: Principal,
                  clock: Clock) -> Finding:
    finding = await session.get(Finding, finding_id)
    if finding is None:
        raise NotFound(f"督导发现的问题 {finding_id} 不存在")
    ensure_reach(principal, finding.township)
    if finding.rectified_on is not None:
        raise Conflict("该问题已整改")
    if body.rectified_on > clock.today():
        raise DomainError("rectified_on", f"整改日期 {body.rectified_on} 晚于今天", "future_date")
    finding.rectified_on, finding.rectification = body.rectified_on, body.rectification
    session.add(finding)
    await session.flush()
    return finding


async def summary(session: AsyncSession, county: County, year: int,
                  quarter: int) -> QuarterSummary:
    """Checks in the quarter and findings per township: what feeds the year-end assessment."""
    start, end = quarter_bounds(year, quarter)
    checks = list((await session.execute(select(Check).where(
        Check.checked_on >= start, Check.checked_on <= end))).scalars())
    ids = [c.id for c in checks]
    findings = list((await session.execute(select(Finding).where(
        Finding.check_id.in_(ids)))).scalars()) if ids else []
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in checks:
        per[c.township]["checks"] += 1
        per[c.township]["unannounced"] += int(c.unannounced)
    for f in findings:
        per[f.township]["findings"] += 1
        per[f.township]["serious"] += int(f.severity == "突出")
        per[f.township]["open"] += int(f.rectified_on is None)
    unannounced = sum(int(c.unannounced) for c in checks)
    low, high = rules.PLANNED_PER_QUARTER
    return QuarterSummary(
        year=year, quarter=quarter, checks=len(checks), unannounced_checks=unannounced,
        planned=f"{low}—{high}", meets_plan=rules.meets_plan(unannounced),
        townships=[TownshipSummary(township=t.code, township_name=t.name,
                                   checks=per[t.code]["checks"],
                                   unannounced=per[t.code]["unannounced"],
                                   findings=per[t.code]["findings"],
                                   serious_findings=per[t.code]["serious"],
                                   open_findings=per[t.code]["open"])
                   for t in county.townships])
