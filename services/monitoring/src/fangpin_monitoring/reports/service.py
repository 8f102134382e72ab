"""The monitoring report from the database. Never commits; reads only.

Every figure comes from a GROUP BY over township and village (a few statements whatever the
number of households); townships and the county add their villages' rows up, except the
median verification time, which has a query of its own per level.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, and_, case, cast, exists, func, literal, select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common.auth import Principal, within_reach
from fangpin_common.county import County
from fangpin_common.tables import DEADLINES
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.cases.rules import ASSESSMENT_DEADLINE
from fangpin_monitoring.elimination.models import Elimination
from fangpin_monitoring.identification.models import Identification
from fangpin_monitoring.plans.models import AssistancePlan
from fangpin_monitoring.quality.models import Anomaly
from fangpin_monitoring.reports import rules
from fangpin_monitoring.reports.models import DeadlineCounts, MonitoringReport, ReportRow
from fangpin_monitoring.visits import rules as visit_rules
from fangpin_monitoring.visits import service as visits
from fangpin_monitoring.warnings.models import RiskWarning

W = RiskWarning.__table__
C = Case.__table__
I = Identification.__table__  # noqa: E741
D = DEADLINES
OPEN_STATES = ("open", "overdue")

Key = tuple[str, str]


def _scoped(query, table, principal: Principal):
    return within_reach(query, principal, table.c.township, table.c.village)


def _days(session: AsyncSession, later, earlier):
    if session.bind.dialect.name == "postgresql":
        return later - earlier  # date - date is an integer of days
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


async def monitoring_report(session: AsyncSession, principal: Principal, county: County,
                            period: rules.ReportPeriod, today: date) -> MonitoringReport:
    villages: dict[Key, ReportRow] = {}

    def row(township: str, village: str) -> ReportRow:
        if (township, village) not in villages:
            villages[township, village] = ReportRow(
                level="village", township=township, township_name=_name(county, township),
                village=village)
        return villages[township, village]

    await _visits(session, principal, period, row)
    await _warnings(session, principal, period, today, row)
    await _identifications(session, principal, row)
    await _cases(session, principal, today, row)
    await _anomalies(session, principal, row)
    # Deadlines a township answers for as a whole (a campaign's) belong to no village.
    township_deadlines = await _deadlines(session, principal, period, today, row)

    medians = await _medians(session, principal, period)
    for (township, village), r in villages.items():
        rules.finish(r, medians.get((township, village)))
    rows: list[ReportRow] = []
    for township in sorted({t for t, _ in villages} | set(township_deadlines)):
        own = [villages[k] for k in sorted(villages) if k[0] == township]
        subtotal = rules.add_up(own, level="township", township=township,
                                township_name=_name(county, township), village=None,
                                median=medians.get((township, None)))
        subtotal.deadlines = rules.merge_deadlines(
            subtotal.deadlines + township_deadlines.get(township, []))
        rows.append(subtotal)
        rows.extend(own)
    total = rules.add_up(list(villages.values()), level="county", township=None,
                         township_name=None, village=None, median=medians.get((None, None)))
    total.deadlines = rules.merge_deadlines(
        total.deadlines + [d for counts in township_deadlines.values() for d in counts])
    return MonitoringReport(period=period.label, period_from=period.start, period_to=period.end,
                            as_of=today, rows=rows, total=total)


def _name(county: County, code: str) -> str:
    township = county.township(code)
    return township.name if township else code


async def _visits(session, principal, period, row) -> None:
    # The visits package's own coverage, month by month: the report counts what it counts.
    for month in period.months():
        coverage = await visits.coverage(session, principal,
                                         visit_rules.parse_period(f"{month:%Y-%m}"), "village",
                                         None)
        for c in coverage.rows:
            r = row(c.township, c.village)
            r.visits_due += c.due
            r.visits_done += c.visited


async def _warnings(session, principal, period, today, row) -> None:
    verified = W.c.status.in_(("included", "dismissed"))
    pending = W.c.status == "raised"
    days = _days(session, W.c.verified_on, W.c.raised_on)
    query = select(
        W.c.township, W.c.village, func.count(),
        _count(W.c.status == "included"), _count(W.c.status == "dismissed"), _count(pending),
        _count(and_(pending, W.c.verify_due_on < today)),
        func.sum(case((verified, days), else_=0)), func.max(case((verified, days), else_=None)),
    ).where(W.c.raised_on >= period.start, W.c.raised_on <= period.end
            ).group_by(W.c.township, W.c.village)
    for t, v, raised, included, dismissed, waiting, overdue, total_days, longest in (
            await session.execute(_scoped(query, W, principal))).all():
        r = row(t, v)
        r.warnings_raised, r.warnings_included, r.warnings_dismissed = raised, included, dismissed
        r.warnings_pending, r.warnings_overdue = waiting, overdue
        r.verification_days_total = int(total_days or 0)
        r.verification_days_max = None if longest is None else int(longest)


async def _medians(session, principal, period) -> dict[tuple[str | None, str | None], float]:
    """Median days from raised to verified, per village, per township and for the county: the
    middle one or two of each group, picked by window functions (both backends have them)."""
    days = _days(session, W.c.verified_on, W.c.raised_on)
    out: dict[tuple[str | None, str | None], float] = {}
    for group in ([W.c.township, W.c.village], [W.c.township], []):
        ranked = select(
            *group, days.label("days"),
            func.row_number().over(partition_by=group or None, order_by=days).label("n"),
            func.count().over(partition_by=group or None).label("size"),
        ).where(W.c.status.in_(("included", "dismissed")), W.c.raised_on >= period.start,
                W.c.raised_on <= period.end)
        ranked = _scoped(ranked, W, principal).subquery()
        keys = [ranked.c[c.name] for c in group]
        middle = and_(ranked.c.n * 2 >= ranked.c.size, ranked.c.n * 2 <= ranked.c.size + 2)
        query = select(*keys, func.avg(ranked.c.days)).where(middle)
        if keys:
            query = query.group_by(*keys)
        for values in (await session.execute(query)).all():
            *key, median = values
            if median is not None:
                key = (key + [None, None])[:2]
                out[key[0], key[1]] = round(float(median), 1)
    return out


async def _identifications(session, principal, row) -> None:
    query = select(I.c.township, I.c.village, func.count()).where(
        I.c.status == "in_progress").group_by(I.c.township, I.c.village)
    for t, v, n in (await session.execute(_scoped(query, I, principal))).all():
        row(t, v).identifications_in_progress = n


async def _cases(session, principal, today, row) -> None:
    """Open cases by the stage they are in on the report day (rules.STAGES)."""
    helpers, plans, elims = Helper.__table__, AssistancePlan.__table__, Elimination.__table__
    one = literal(1)
    stage = case(
        (exists(select(one).where(elims.c.case_id == C.c.id, elims.c.status == "in_progress")),
         "elimination_in_progress"),
        (~exists(select(one).where(helpers.c.case_id == C.c.id)), "awaiting_helper"),
        (~exists(select(one).where(plans.c.case_id == C.c.id)), "awaiting_plan"),
        (exists(select(one).where(D.c.kind == ASSESSMENT_DEADLINE, D.c.subject_id == C.c.id,
                                  D.c.state.in_(OPEN_STATES), D.c.due_on <= today)),
         "assessment_due"),
        else_="assisted")
    staged = _scoped(select(C.c.township, C.c.village, stage.label("stage")).where(
        C.c.status == "open"), C, principal).subquery()
    query = select(staged.c.township, staged.c.village, staged.c.stage, func.count()).group_by(
        staged.c.township, staged.c.village, staged.c.stage)
    for t, v, s, n in (await session.execute(query)).all():
        setattr(row(t, v), f"cases_{s}", n)


async def _anomalies(session, principal, row) -> None:
    """Data-quality items as the latest runs left them (M10): open, and explained."""
    A = Anomaly.__table__
    query = select(A.c.township, A.c.village, _count(A.c.status == "open"),
                   _count(A.c.status == "explained")).where(
        A.c.status.in_(("open", "explained"))).group_by(A.c.township, A.c.village)
    for t, v, still_open, explained in (await session.execute(_scoped(query, A, principal))).all():
        r = row(t, v)
        r.anomalies_open, r.anomalies_explained = still_open, explained


async def _deadlines(session, principal, period, today,
                     row) -> dict[str, list[DeadlineCounts]]:
    """The period's deadlines (due in it) per kind: met on time or late, open past or before
    their due day. Cancelled ones (a superseded procedure's) count nowhere. Returns those of
    no village, per township."""
    met = D.c.state == "met"
    waiting = D.c.state.in_(OPEN_STATES)
    query = select(
        D.c.township, D.c.village, D.c.kind,
        _count(and_(met, D.c.met_on <= D.c.due_on)), _count(and_(met, D.c.met_on > D.c.due_on)),
        _count(and_(waiting, D.c.due_on < today)), _count(and_(waiting, D.c.due_on >= today)),
    ).where(D.c.due_on >= period.start, D.c.due_on <= period.end, D.c.township.is_not(None)
            ).group_by(D.c.township, D.c.village, D.c.kind)
    found: dict[tuple[str, str | None], list[DeadlineCounts]] = {}
    for t, v, kind, on_time, late, overdue, not_due in (
            await session.execute(_scoped(query, D, principal))).all():
        if on_time or late or overdue or not_due:
            found.setdefault((t, v), []).append(DeadlineCounts(
                kind=kind, kind_name=rules.kind_name(kind), met_on_time=on_time, met_late=late,
                open_overdue=overdue, open_not_due=not_due))
    township_level: dict[str, list[DeadlineCounts]] = {}
    for (township, village), counts in found.items():
        if village is None:
            township_level[township] = counts
        else:
            row(township, village).deadlines = rules.merge_deadlines(counts)
    return township_level
