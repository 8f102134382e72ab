"""Target progress reports applied to the database. Never commits."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_industry.access import forbidden, sees_all
from fangpin_industry.config import IndustryConfig, TargetConfig, expand_units
from fangpin_industry.sql import insert_if_absent
from fangpin_industry.targets import rules
from fangpin_industry.targets.events import target_reported
from fangpin_industry.targets.models import (
    ReportCreate,
    ReportRead,
    TargetProgress,
    TargetRead,
    TargetReport,
    UnitFigure,
    UnitRef,
)


def target_units(county: County, target: TargetConfig) -> list[str]:
    """The lead unit first, then the responsible units (I7)."""
    return expand_units(county, [target.lead, *target.responsible])


def unit_ref(county: County, code: str) -> UnitRef:
    unit = county.unit(code)
    return UnitRef(code=code, name=unit.name if unit else code)


def get_target(config: IndustryConfig, code: str) -> TargetConfig:
    target = config.target(code)
    if target is None:
        raise NotFound(f"没有指标 {code}（可用：{'、'.join(t.code for t in config.targets)}）")
    return target


def visible_targets(principal: Principal, county: County,
                    config: IndustryConfig) -> list[TargetConfig]:
    """Everyone in the county sees the targets; other departments only those they answer for."""
    if sees_all(principal, config) or principal.role in ("township", "village"):
        return list(config.targets)
    return [t for t in config.targets if principal.unit in target_units(county, t)]


def to_target_read(county: County, target: TargetConfig) -> TargetRead:
    units = target_units(county, target)
    return TargetRead(code=target.code, name=target.name, unit=target.unit, target=target.target,
                      measure=target.measure, clause=target.clause,
                      lead=unit_ref(county, units[0]),
                      responsible=[unit_ref(county, u) for u in units[1:]])


def to_report_read(county: County, report: TargetReport) -> ReportRead:
    return ReportRead(**report.model_dump(exclude={"value"}), value=Decimal(report.value),
                      unit_name=unit_ref(county, report.unit).name)


async def record_report(session: AsyncSession, code: str, data: ReportCreate,
                        principal: Principal, county: County, config: IndustryConfig,
                        clock: Clock) -> TargetReport:
    target = get_target(config, code)
    unit = principal.unit
    if not unit or unit not in target_units(county, target):
        raise forbidden(f"本单位（{unit or '未指定单位'}）不是指标“{target.name}”的牵头或责任单位")
    if problem := rules.period_problem(data.period, config.year, clock.today()):
        raise DomainError("period", problem, "invalid_period")
    if problem := rules.value_problem(target.measure, data.value):
        raise DomainError("value", problem, "invalid_value")
    now = clock.now()
    _, period_end = rules.period_bounds(data.period)
    value = format(data.value.normalize(), "f")
    report_id = new_id()
    values = dict(id=report_id, target=code, period=data.period, period_end=period_end, unit=unit,
                  value=value, note=data.note, revision=1, reported_by=principal.sub,
                  created_at=now, updated_at=now)
    inserted = await insert_if_absent(session, TargetReport.__table__, values,
                                      ("target", "period", "unit"))
    report = (await session.exec(select(TargetReport).where(
        TargetReport.target == code, TargetReport.period == data.period,
        TargetReport.unit == unit).with_for_update())).one()
    if inserted:
        await audit.record(session, principal, entity_type="target_report", entity_id=report.id,
                           action="report", before=None, after=report.model_dump(mode="json"),
                           now=now)
    else:
        before = report.model_dump(mode="json")
        report.value, report.note = value, data.note
        report.revision += 1
        report.reported_by, report.updated_at = principal.sub, now
        session.add(report)
        await session.flush()
        await audit.record(session, principal, entity_type="target_report", entity_id=report.id,
                           action="correct", before=before, after=report.model_dump(mode="json"),
                           now=now)
    await outbox.emit(session, target_reported(report, now))
    return report


async def list_reports(session: AsyncSession, code: str, principal: Principal, county: County,
                       config: IndustryConfig) -> list[TargetReport]:
    target = get_target(config, code)
    if target not in visible_targets(principal, county, config):
        raise forbidden(f"无权查看指标“{target.name}”")
    query = select(TargetReport).where(TargetReport.target == code)
    if not sees_all(principal, config) and principal.role in ("township", "village"):
        query = query.where(TargetReport.unit == principal.unit)
    return list((await session.exec(query.order_by(TargetReport.period_end,
                                                   TargetReport.unit))).all())


async def progress(session: AsyncSession, principal: Principal, county: County,
                   config: IndustryConfig, as_of: str | None) -> list[TargetProgress]:
    """Progress per target, from the reports of periods ending on or before `as_of`."""
    cutoff: date | None = None
    if as_of is not None:
        bounds = rules.period_bounds(as_of)
        if bounds is None:
            raise DomainError("as_of", rules.period_problem(as_of, config.year, date.max) or "",
                              "invalid_period", location="query")
        cutoff = bounds[1]
    query = select(TargetReport)
    if cutoff is not None:
        query = query.where(TargetReport.period_end <= cutoff)
    by_target: dict[str, list[rules.Report]] = {}
    for row in (await session.exec(query)).all():
        by_target.setdefault(row.target, []).append(rules.Report(
            unit=row.unit, period=row.period, period_end=row.period_end,
            value=Decimal(row.value), updated_at=row.updated_at))
    # A township sees the county figure but only its own line of the breakdown.
    own_only = not sees_all(principal, config) and principal.role in ("township", "village")
    result = []
    for target in visible_targets(principal, county, config):
        base = to_target_read(county, target)
        p = rules.progress(target.measure, target.target, base.lead.code,
                           by_target.get(target.code, []))
        units = [base.lead, *base.responsible]
        if own_only:
            units = [u for u in units if u.code == principal.unit]
        result.append(TargetProgress(
            **base.model_dump(), year=config.year, achieved=p.achieved, percent=p.percent,
            met=p.met,
            reported=[UnitFigure(unit=u.code, unit_name=u.name, period=p.latest[u.code].period,
                                 value=p.latest[u.code].value)
                      for u in units if u.code in p.latest],
            not_reported=[u for u in units if u.code not in p.latest]))
    return result
