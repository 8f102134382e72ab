"""Data-quality runs applied to the database (M10). Never commits.

A run stages what each rule finds (quality_found), then reconciles with the kept anomalies
in a handful of set-based statements: new items inserted, items found again kept open,
fixed items found again re-opened, open items no longer found marked fixed. Explained
items are left as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date

from sqlalchemy import case, delete, exists, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, mask_id_number, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.db import bulk_insert, insert_for
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.quality import checks, events, rules
from fangpin_monitoring.quality.models import (
    STATUS_NAMES,
    Anomaly,
    AnomalyRead,
    QualityFound,
    QualityRun,
    QualitySlot,
)

A = Anomaly.__table__
F = QualityFound.__table__
H = Household.__table__
M = Member.__table__
SLOTS = QualitySlot.__table__
# One run at a time per schema (a manual and a scheduled run would insert the same items);
# SQLite's single writer does this by itself.
_RUN_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), 1310)")


def chosen_rules(codes: Sequence[str] | None) -> list[str]:
    if not codes:
        return list(rules.CODES)
    bad = rules.unknown_codes(codes)
    if bad:
        index, code = bad[0]
        raise DomainError(["rules", index], f"未知的规则编号：{code}（应为 {rules.CODES[0]}—"
                          f"{rules.CODES[-1]}）", "unknown_rule")
    return list(dict.fromkeys(codes))


async def _stage(session: AsyncSession, run_id: str, code: str, ctx: checks.Context) -> None:
    if code in checks.QUERIES:
        q = checks.QUERIES[code](ctx).subquery()
        # One item per (household, member): a rule may match a household several times.
        rows = (select(literal(run_id), literal(code), q.c.household_id, q.c.member_id,
                       func.coalesce(q.c.member_id, ""), func.max(q.c.detail))
                .group_by(q.c.household_id, q.c.member_id))
        await session.execute(insert(F).from_select(
            ["run_id", "rule_code", "household_id", "member_id", "member_key", "detail"], rows))
        return
    # Read first, write after: the scan's cursor holds the connection. Only what is found is
    # kept (one row per problem, not per person).
    batch: dict[tuple[str, str], dict] = {}
    pages: AsyncIterator = checks.SCANS[code](session, ctx)
    async for found in pages:
        for household, member, detail in found:
            batch.setdefault((household, member or ""), {
                "run_id": run_id, "rule_code": code, "household_id": household,
                "member_id": member, "member_key": member or "", "detail": detail})
    await bulk_insert(session, F, list(batch.values()))


def _same_item(run_id: str):
    return exists().where(F.c.run_id == run_id, F.c.rule_code == A.c.rule_code,
                          F.c.household_id == A.c.household_id, F.c.member_key == A.c.member_key)


async def run_checks(session: AsyncSession, county: County, clock: Clock,
                     principal: Principal | None = None, trigger: str = "manual",
                     rules: Sequence[str] | None = None, slot: date | None = None) -> QualityRun:
    """Run the rules (all, or the chosen codes) and update the anomaly lists."""
    codes = chosen_rules(rules)
    if session.bind.dialect.name == "postgresql":
        await session.execute(_RUN_LOCK)  # held until the caller's transaction ends
    started, today = clock.now(), clock.today()
    run_id = new_id()
    ctx = checks.Context(today, county)
    for code in codes:
        await _stage(session, run_id, code, ctx)

    found = _same_item(run_id)
    seen = {"last_run_id": run_id, "last_found_at": started,
            # The household may have moved to another village of its township.
            "village": select(H.c.village).where(H.c.id == A.c.household_id).scalar_subquery(),
            "detail": select(F.c.detail).where(
                F.c.run_id == run_id, F.c.rule_code == A.c.rule_code,
                F.c.household_id == A.c.household_id,
                F.c.member_key == A.c.member_key).limit(1).scalar_subquery()}
    still_open = (await session.execute(update(A).where(A.c.status == "open", found)
                                        .values(**seen))).rowcount
    reopened = (await session.execute(update(A).where(A.c.status == "fixed", found).values(
        status="open", fixed_run_id=None, fixed_at=None, reopened=A.c.reopened + 1,
        **seen))).rowcount
    await session.execute(update(A).where(A.c.status == "explained", found).values(**seen))
    fixed = (await session.execute(update(A).where(
        A.c.status == "open", A.c.rule_code.in_(codes), ~found)
        .values(status="fixed", fixed_run_id=run_id, fixed_at=started))).rowcount

    known = exists().where(A.c.rule_code == F.c.rule_code, A.c.household_id == F.c.household_id,
                           A.c.member_key == F.c.member_key)
    fresh = (select(F.c.rule_code, F.c.household_id, F.c.member_id, F.c.member_key,
                    H.c.township, H.c.village, F.c.detail, literal("open"), literal(run_id),
                    literal(started, A.c.first_found_at.type), literal(run_id),
                    literal(started, A.c.last_found_at.type), literal(0))
             .join_from(F, H, H.c.id == F.c.household_id)
             .where(F.c.run_id == run_id, ~known))
    new = (await session.execute(select(func.count()).select_from(fresh.subquery()))).scalar_one()
    await session.execute(insert(A).from_select(
        ["rule_code", "household_id", "member_id", "member_key", "township", "village",
         "detail", "status", "first_run_id", "first_found_at", "last_run_id", "last_found_at",
         "reopened"], fresh))

    by_rule = {code: 0 for code in codes}
    by_rule.update({code: n for code, n in (await session.execute(
        select(F.c.rule_code, func.count()).where(F.c.run_id == run_id)
        .group_by(F.c.rule_code))).all()})
    open_rows = (await session.execute(
        select(A.c.township, A.c.rule_code, func.count(),
               func.sum(case((A.c.first_run_id == run_id, 1), else_=0)))
        .where(A.c.status == "open", A.c.rule_code.in_(codes))
        .group_by(A.c.township, A.c.rule_code))).all()
    await session.execute(delete(F).where(F.c.run_id == run_id))

    by_township: dict[str, int] = {}
    township_rules: dict[str, dict[str, int]] = {}
    township_new: dict[str, int] = {}
    for township, code, count, fresh_count in open_rows:
        by_township[township] = by_township.get(township, 0) + count
        township_rules.setdefault(township, {})[code] = count
        township_new[township] = township_new.get(township, 0) + int(fresh_count or 0)
    run = QualityRun(
        id=run_id, trigger=trigger, slot=slot, run_by=principal.sub if principal else None,
        rules=codes, started_at=started, finished_at=clock.now(), business_date=today,
        found=sum(by_rule.values()), new=new, still_open=still_open, reopened=reopened,
        fixed=fixed, counts_by_rule=by_rule, counts_by_township=dict(sorted(by_township.items())))
    session.add(run)
    await session.flush()
    await outbox.emit(session, events.run_completed(run))
    for township in sorted(by_township):
        await outbox.emit(session, events.anomalies_assigned(
            run, township, by_township[township], township_new[township],
            township_rules[township]))
    return run


async def claim_slot(session: AsyncSession, slot: date, now) -> bool:
    """Insert-or-ignore the slot's row: true for the one caller that inserted it."""
    result = await session.execute(insert_for(session, SLOTS).values(slot=slot, claimed_at=now)
                                   .on_conflict_do_nothing(index_elements=["slot"]))
    return result.rowcount == 1


async def run_scheduled(session: AsyncSession, county: County, clock: Clock) -> QualityRun | None:
    """The scheduled run of the latest slot (a run day of config `quality.run_days`), unless
    that slot was claimed already (by this or another instance, before or after a restart)."""
    slot = rules.latest_slot(county.quality.run_days, clock.today())
    if not await claim_slot(session, slot, clock.now()):
        return None
    run = await run_checks(session, county, clock, trigger="scheduled", slot=slot)
    await session.execute(update(SLOTS).where(SLOTS.c.slot == slot).values(run_id=run.id))
    return run


async def get_run(session: AsyncSession, run_id: str) -> QualityRun:
    run = await session.get(QualityRun, run_id)
    if run is None:
        raise NotFound(f"清洗批次 {run_id} 不存在")
    return run


async def list_runs(session: AsyncSession, limit: int = 50) -> list[QualityRun]:
    return list((await session.execute(select(QualityRun).order_by(
        QualityRun.started_at.desc()).limit(limit))).scalars())


# -- anomaly lists ------------------------------------------------------------------------

def _scoped(query, principal: Principal, township: str | None, village: str | None,
            rule: str | None, status: str | None):
    query = within_reach(query, principal, A.c.township, A.c.village)
    if principal.role not in ("county", "township", "village"):
        query = query.where(False)
    if township:
        query = query.where(A.c.township == township)
    if village:
        query = query.where(A.c.village == village)
    if rule:
        query = query.where(A.c.rule_code == rule)
    if status:
        query = query.where(A.c.status == status)
    return query


def check_filters(county: County, township: str | None, rule: str | None,
                  status: str | None) -> str | None:
    """The township filter as a code; 422 naming the query parameter otherwise."""
    if rule and rule not in rules.BY_CODE:
        raise DomainError("rule", f"未知的规则编号：{rule}", "unknown_rule", location="query")
    if status and status not in STATUS_NAMES:
        raise DomainError("status", f"状态应为 {'、'.join(STATUS_NAMES)} 之一", "invalid_status",
                          location="query")
    if township:
        found = county.township(township)
        if found is None:
            raise DomainError("township", f"未知乡镇：{township}", "unknown_township",
                              location="query")
        return found.code
    return None


_LIST = (select(A, H.c.head_name, M.c.name.label("member_name"),
                M.c.id_number.label("id_number"))
         .join_from(A, H, H.c.id == A.c.household_id)
         .outerjoin(M, M.c.id == A.c.member_id))
_ORDER = (A.c.township, A.c.village, A.c.household_id, A.c.rule_code, A.c.id)


def anomaly_read(row, principal: Principal, county: County) -> AnomalyRead:
    info = rules.BY_CODE[row.rule_code]
    township = county.township(row.township)
    number = row.id_number if principal.sees_identity_numbers else mask_id_number(row.id_number)
    return AnomalyRead(
        id=row.id, rule_code=row.rule_code, rule_title=info.title, level=info.level,
        township=row.township, township_name=township.name if township else None,
        village=row.village, household_id=row.household_id, head_name=row.head_name,
        member_id=row.member_id, member_name=row.member_name, id_number=number,
        detail=row.detail, status=row.status, status_name=STATUS_NAMES[row.status],
        first_found_at=row.first_found_at, last_found_at=row.last_found_at,
        fixed_at=row.fixed_at, reopened=row.reopened, explained_by=row.explained_by,
        explained_at=row.explained_at, explanation=row.explanation)


async def list_anomalies(session: AsyncSession, principal: Principal, county: County, *,
                         township: str | None = None, village: str | None = None,
                         rule: str | None = None, status: str | None = None, page: int = 1,
                         page_size: int = 100) -> tuple[list[AnomalyRead], int]:
    code = check_filters(county, township, rule, status)
    total = (await session.execute(_scoped(select(func.count()).select_from(A), principal, code,
                                           village, rule, status))).scalar_one()
    rows = (await session.execute(_scoped(_LIST, principal, code, village, rule, status)
                                  .order_by(*_ORDER).limit(page_size)
                                  .offset((page - 1) * page_size))).all()
    await _audit_numbers(session, principal, rows)
    return [anomaly_read(r, principal, county) for r in rows], total


async def _audit_numbers(session: AsyncSession, principal: Principal, rows) -> None:
    """The members whose full resident ID the caller is shown (audited, W2)."""
    await audit.full_read(session, principal, "member",
                          [r.member_id for r in rows if r.id_number], "id_number")


async def iter_anomalies(session: AsyncSession, principal: Principal, county: County, *,
                         township: str | None = None, village: str | None = None,
                         rule: str | None = None, status: str | None = None,
                         page_size: int = 5000) -> AsyncIterator[list[AnomalyRead]]:
    """Every matching item, a page at a time (keyset on the id: memory stays one page)."""
    code = check_filters(county, township, rule, status)
    last = 0
    while True:
        rows = (await session.execute(_scoped(_LIST, principal, code, village, rule, status)
                                      .where(A.c.id > last).order_by(A.c.id)
                                      .limit(page_size))).all()
        if not rows:
            return
        await _audit_numbers(session, principal, rows)
        yield [anomaly_read(r, principal, county) for r in rows]
        last = rows[-1].id


async def explain(session: AsyncSession, anomaly_id: int, reason: str, principal: Principal,
                  county: County, clock: Clock) -> AnomalyRead:
    """An open item that is not a problem (or cannot be fixed): kept as explained, with the
    reason; later runs do not re-open it."""
    if problem := rules.reason_problem(reason):
        raise DomainError("reason", problem, "too_short")
    anomaly = await session.get(Anomaly, anomaly_id)
    if anomaly is None or not principal.can_reach(anomaly.township, anomaly.village):
        raise NotFound(f"问题 {anomaly_id} 不存在")
    if anomaly.status != "open":
        raise Conflict(f"问题 {anomaly_id} 状态为{STATUS_NAMES[anomaly.status]}，"
                       "只能说明待整改的问题")
    anomaly.status = "explained"
    anomaly.explanation = reason.strip()
    anomaly.explained_by = principal.sub
    anomaly.explained_at = clock.now()
    session.add(anomaly)
    await session.flush()
    row = (await session.execute(_LIST.where(A.c.id == anomaly_id))).one()
    return anomaly_read(row, principal, county)
