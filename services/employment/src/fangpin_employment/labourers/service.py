"""The labourers read model: applying monitoring's events, county additions, queries.

Never commits: the consumer's (or the request's) unit of work does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach, within_reach
from fangpin_common.clock import Clock, business_date
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.events import CloudEvent, parse_event
from fangpin_common.events.monitoring import (
    CaseHelperAssigned,
    CaseOpened,
    CaseOpenedData,
    HelperAssignedData,
    HouseholdUpserted,
    HouseholdUpsertedData,
)
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_employment import sql
from fangpin_employment.labourers import rules
from fangpin_employment.labourers.models import (
    HelperSet,
    HouseholdHelper,
    Labourer,
    LabourerCreate,
    LabourerHousehold,
    LabourerInclusion,
    LabourerRead,
    LabourerSituation,
    RebuildReport,
    SituationSet,
)
from fangpin_employment.workinfo.rules import WORK_INFO_DEADLINE

MONITORING_STREAM = "FANGPIN_MONITORING"
CONSUMED = (HouseholdUpserted.event_type(), CaseOpened.event_type(),
            CaseHelperAssigned.event_type())
IN_CHUNK = 2000

HOUSEHOLD_T = LabourerHousehold.__table__
LABOURER_T = Labourer.__table__
LABOURER_FIELDS = [c.name for c in LABOURER_T.columns]


def resolve_township(county: County, value: str, field: str | list = "township",
                     location: str = "body") -> str:
    township = county.township(value)
    if township is None:
        raise DomainError(field, f"未知乡镇：{value}（应为本县{len(county.townships)}个乡镇之一）",
                          "unknown_township", location=location)
    return township.code


def query_township(county: County, value: str) -> str:
    return resolve_township(county, value, "township", "query")


def _chunked(values: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# -- applying monitoring's events ------------------------------------------------------------
async def handle_event(session: AsyncSession, event: CloudEvent) -> None:
    """The consumer's handler: one event, in the consumer's transaction."""
    await apply_events(session, [event])


async def apply_events(session: AsyncSession, events: Sequence[CloudEvent]) -> int:
    """Apply events in stream order; the live consumer passes one, the rebuild a batch."""
    households: list[tuple[HouseholdUpsertedData, datetime]] = []
    applied = 0
    for event in events:
        if isinstance(event, HouseholdUpserted):
            households.append((event.data, event.time))
            continue
        # Household facts come first so that a case or helper sees the household it names.
        applied += await apply_households(session, households)
        households = []
        if isinstance(event, CaseOpened):
            await apply_case_opened(session, event.data, event.time)
            applied += 1
        elif isinstance(event, CaseHelperAssigned):
            await apply_helper_assigned(session, event.data)
            applied += 1
    return applied + await apply_households(session, households)


def _labourer_row(data: HouseholdUpsertedData, member, included: bool, at: datetime) -> dict:
    active, reason = rules.labourer_status(
        labour_capacity=member.labour_capacity, deceased=member.deceased, removed=False,
        in_school=member.in_school, household_category=data.category, included=included)
    return {
        "id": member.member_id, "source": "monitoring", "household_id": data.household_id,
        "township": data.township, "village": data.village, "name": member.name,
        "sex": member.sex, "birth_date": member.birth_date, "relation": member.relation,
        "labour_capacity": member.labour_capacity, "in_school": member.in_school,
        "deceased": member.deceased, "removed": False, "household_category": data.category,
        "monitoring_subcategory": data.monitoring_subcategory, "active": active,
        "inactive_reason": reason, "revision": data.revision, "updated_at": at,
    }


async def apply_households(session: AsyncSession,
                           items: Sequence[tuple[HouseholdUpsertedData, datetime]]) -> int:
    """Apply household snapshots in order, as if one by one, with set-based reads and writes.

    An older or equal revision never overwrites a newer one; members missing from a newer
    snapshot are kept as removed; deceased members stay as inactive rows.
    """
    if not items:
        return 0
    ids = list(dict.fromkeys(d.household_id for d, _ in items))
    households: dict[str, dict] = {}
    labourers: dict[str, dict] = {}
    for part in _chunked(ids):
        for row in (await session.execute(
                select(HOUSEHOLD_T).where(HOUSEHOLD_T.c.id.in_(part)))).mappings():
            households[row["id"]] = dict(row)
        for row in (await session.execute(select(LABOURER_T).where(
                LABOURER_T.c.household_id.in_(part),
                LABOURER_T.c.source == "monitoring"))).mappings():
            labourers[row["id"]] = dict(row)
    member_ids = list({m.member_id for d, _ in items for m in d.members})
    included: set[str] = set()
    for part in _chunked(member_ids):
        included.update((await session.execute(select(LabourerInclusion.member_id).where(
            LabourerInclusion.member_id.in_(part)))).scalars())
    was_active = {lid for lid, row in labourers.items() if row["active"]}
    by_household: dict[str, set[str]] = {}
    for lid, row in labourers.items():
        by_household.setdefault(row["household_id"], set()).add(lid)

    dirty_h: set[str] = set()
    dirty_l: set[str] = set()
    applied = 0
    for data, at in items:
        current = households.get(data.household_id)
        if current is not None and current["revision"] >= data.revision:
            continue  # a redelivered or older snapshot
        applied += 1
        households[data.household_id] = {
            "id": data.household_id, "township": data.township, "village": data.village,
            "category": data.category, "monitoring_subcategory": data.monitoring_subcategory,
            "revision": data.revision,
            "monitored_since": current["monitored_since"] if current else None,
            "last_case_id": current["last_case_id"] if current else None,
            "updated_at": at,
        }
        dirty_h.add(data.household_id)
        present = set()
        for member in data.members:
            labourers[member.member_id] = _labourer_row(
                data, member, member.member_id in included, at)
            present.add(member.member_id)
            dirty_l.add(member.member_id)
        members = by_household.setdefault(data.household_id, set())
        for lid in members - present:
            row = labourers[lid]
            if not row["removed"]:
                row.update(removed=True, active=False, inactive_reason="已移出本户",
                           revision=data.revision, updated_at=at)
                dirty_l.add(lid)
        members |= present

    if not applied:
        return 0
    await sql.upsert(session, HOUSEHOLD_T, [households[h] for h in dirty_h], ["id"],
                     ["township", "village", "category", "monitoring_subcategory", "revision",
                      "updated_at"])
    rows = [labourers[lid] for lid in dirty_l]
    await sql.upsert(session, LABOURER_T, rows, ["id"],
                     [f for f in LABOURER_FIELDS if f not in ("id", "source")])
    gone = [lid for lid in was_active if not labourers[lid]["active"]]
    await cancel_open_work_deadlines(session, gone)
    from fangpin_employment.returnees.service import sync_monitored

    await sync_monitored(session, [households[h] for h in dirty_h],
                         [labourers[lid] for lid in dirty_l])
    return applied


async def cancel_open_work_deadlines(session: AsyncSession, labourer_ids: Sequence[str]) -> None:
    """A labourer who left the model (deceased, removed, …) owes no more work information."""
    for part in _chunked(list(labourer_ids), 200):
        await session.execute(update(DEADLINES).where(
            DEADLINES.c.kind == WORK_INFO_DEADLINE, DEADLINES.c.state == "open",
            or_(*[DEADLINES.c.subject_id.like(f"{lid}:%") for lid in part]),
        ).values(state="cancelled"))


async def apply_case_opened(session: AsyncSession, data: CaseOpenedData, at: datetime) -> None:
    stmt = sql.insert_for(session, HOUSEHOLD_T).values(
        id=data.household_id, township=data.township, village=data.village, category="监测户",
        monitoring_subcategory=data.category, revision=0, monitored_since=data.inclusion_date,
        last_case_id=data.case_id, updated_at=at)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"],
        set_={"monitored_since": stmt.excluded.monitored_since,
              "last_case_id": stmt.excluded.last_case_id},
        where=or_(HOUSEHOLD_T.c.monitored_since.is_(None),
                  HOUSEHOLD_T.c.monitored_since <= stmt.excluded.monitored_since))
    await session.execute(stmt)
    from fangpin_employment.returnees.service import monitored_since_known

    await monitored_since_known(session, data.household_id, data.inclusion_date)


async def apply_helper_assigned(session: AsyncSession, data: HelperAssignedData) -> None:
    await _set_helper(session, data.household_id, data.helper_name, data.helper_unit,
                      data.assigned_on, "monitoring")


async def _set_helper(session: AsyncSession, household_id: str, name: str, unit: str | None,
                      on: date, source: str) -> None:
    table = HouseholdHelper.__table__
    stmt = sql.insert_for(session, table).values(
        household_id=household_id, helper_name=name, helper_unit=unit, assigned_on=on,
        source=source)
    stmt = stmt.on_conflict_do_update(
        index_elements=["household_id"],
        set_={c: getattr(stmt.excluded, c)
              for c in ("helper_name", "helper_unit", "assigned_on", "source")},
        where=table.c.assigned_on <= stmt.excluded.assigned_on)
    await session.execute(stmt)


# -- rebuilding from the stream --------------------------------------------------------------
async def rebuild(database, js, stream: str = MONITORING_STREAM, batch: int = 2000,
                  fetch_timeout: float = 2.0, force: bool = False) -> RebuildReport:
    """Replay the monitoring stream from its first message into a fresh read model.

    One transaction: readers see the old model until the new one is complete. This service's
    own facts (county additions, inclusions, situations) are kept and re-applied by the rules.
    A stream that no longer starts at its first message (retention expired some) would lose
    households: refused unless forced.
    """
    started = time.perf_counter()
    try:
        first = (await js.stream_info(stream)).state.first_seq
    except NotFoundError as exc:
        raise NotFound(f"事件流 {stream} 不存在") from exc
    if first > 1 and not force:
        raise Conflict(f"事件流 {stream} 已不完整（最早的消息序号为 {first}），重建会丢失农户；"
                       "确需重建请指定 force")
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE,
                            filter_subjects=list(CONSUMED), inactive_threshold=300.0,
                            max_waiting=1)
    events = 0
    async with database.unit_of_work() as session:
        await session.execute(delete(LABOURER_T).where(LABOURER_T.c.source == "monitoring"))
        await session.execute(delete(HOUSEHOLD_T))
        info = await js.stream_info(stream)
        if info.state.messages:
            psub = await js.pull_subscribe(subject=CONSUMED[0], stream=stream, config=config)
            try:
                while True:
                    try:
                        messages = await psub.fetch(batch, timeout=fetch_timeout)
                    except TimeoutError:
                        break  # nothing more to read
                    parsed = [parse_event(m.data) for m in messages]
                    await apply_events(session, parsed)
                    events += len(parsed)
                    if messages[-1].metadata.num_pending == 0:
                        break
            finally:
                # Best effort: the ephemeral consumer also goes away by itself when idle
                # (inactive_threshold), so a service user without CONSUMER.DELETE still works.
                with contextlib.suppress(Exception):
                    await psub.unsubscribe()
                with contextlib.suppress(Exception):
                    await js.delete_consumer(stream, psub._consumer)
        if sql.dialect(session) == "postgresql":
            # Fresh statistics, or the planner treats the rebuilt tables as empty.
            await session.execute(text("ANALYZE lab_households, labourers, key_group_members"))
        households = (await session.execute(select(func.count()).select_from(HOUSEHOLD_T)))
        labourers = await session.execute(
            select(func.count(), func.count().filter(LABOURER_T.c.active)).select_from(LABOURER_T))
        total, active = labourers.one()
        return RebuildReport(events=events, households=households.scalar_one(), labourers=total,
                             active_labourers=active,
                             seconds=round(time.perf_counter() - started, 3))


async def snapshot(session: AsyncSession) -> dict[str, list[tuple]]:
    """The whole read model, ordered: what a rebuild must reproduce exactly."""
    out = {}
    for table in (HOUSEHOLD_T, LABOURER_T):
        rows = await session.execute(select(table).order_by(table.c.id))
        out[table.name] = [tuple(r) for r in rows]
    return out


# -- this service's own facts ----------------------------------------------------------------
async def add_labourer(session: AsyncSession, body: LabourerCreate, principal: Principal,
                       county: County, clock: Clock) -> Labourer:
    today, now = clock.today(), clock.now()
    if body.member_id:
        labourer = await session.get(Labourer, body.member_id)
        if labourer is None:
            raise DomainError("member_id", f"成员 {body.member_id} 尚未从监测系统同步到本系统",
                              "unknown_member")
        ensure_reach(principal, labourer.township, labourer.village)
        if await session.get(LabourerInclusion, body.member_id) is not None:
            raise Conflict(f"成员 {body.member_id} 已纳入劳动力名单")
        session.add(LabourerInclusion(member_id=body.member_id, included_on=today,
                                      included_by=principal.sub, note=body.note))
        active, reason = rules.labourer_status(
            labour_capacity=labourer.labour_capacity, deceased=labourer.deceased,
            removed=labourer.removed, in_school=labourer.in_school,
            household_category=labourer.household_category, included=True)
        labourer.active, labourer.inactive_reason = active, reason
        session.add(labourer)
        await session.flush()
        await audit.record(session, principal, entity_type="labourer", entity_id=labourer.id,
                           action="include", before=None, after={"member_id": labourer.id},
                           now=now)
        return labourer
    missing = [f for f in ("township", "village", "name", "sex", "birth_date")
               if getattr(body, f) in (None, "")]
    if missing:
        raise DomainError(missing[0], "新增劳动力须填写乡镇、村、姓名、性别和出生日期",
                          "missing")
    township = resolve_township(county, body.township)  # type: ignore[arg-type]
    ensure_reach(principal, township, body.village)
    if body.birth_date > today:  # type: ignore[operator]
        raise DomainError("birth_date", f"出生日期 {body.birth_date} 晚于今天", "future_date")
    active, reason = rules.labourer_status(
        labour_capacity=body.labour_capacity, deceased=False, removed=False, in_school=False,
        household_category=body.household_category, included=True, source="county")
    labourer = Labourer(
        id=new_id(), source="county", household_id=body.household_id, township=township,
        village=body.village, name=body.name, sex=body.sex, birth_date=body.birth_date,
        labour_capacity=body.labour_capacity, household_category=body.household_category,
        active=active, inactive_reason=reason, revision=0, updated_at=now)
    await audit.added(session, principal, labourer, entity_type="labourer", now=now)
    return labourer


async def get_labourer(session: AsyncSession, labourer_id: str, principal: Principal,
                       field: str | list | None = None) -> Labourer:
    labourer = await session.get(Labourer, labourer_id)
    if labourer is None:
        if field is not None:
            raise DomainError(field, f"劳动力 {labourer_id} 不存在", "unknown_labourer")
        raise NotFound(f"劳动力 {labourer_id} 不存在")
    ensure_reach(principal, labourer.township, labourer.village)
    return labourer


def working_age_clause(county: County, on: date):
    born_after, born_by = rules.birth_bounds(on, county.working_age)
    return and_(Labourer.birth_date > born_after, Labourer.birth_date <= born_by)


async def list_labourers(session: AsyncSession, principal: Principal, county: County, on: date,
                         township: str | None, village: str | None, include_inactive: bool,
                         limit: int, offset: int) -> list[Labourer]:
    query = select(Labourer).order_by(Labourer.township, Labourer.village, Labourer.name,
                                      Labourer.id)
    query = within_reach(query, principal, Labourer.township, Labourer.village)
    if township:
        query = query.where(Labourer.township == query_township(county, township))
    if village:
        query = query.where(Labourer.village == village)
    if not include_inactive:
        query = query.where(Labourer.active, working_age_clause(county, on))
    return list((await session.execute(query.limit(limit).offset(offset))).scalars())


def to_read(labourer: Labourer, county: County, on: date) -> LabourerRead:
    return LabourerRead(
        **labourer.model_dump(exclude={"updated_at", "in_school", "deceased", "removed"}),
        age=rules.age_on(labourer.birth_date, on),
        working_age=rules.is_working_age(labourer.birth_date, on, county.working_age))


async def set_helper(session: AsyncSession, household_id: str, body: HelperSet,
                     principal: Principal, clock: Clock) -> HouseholdHelper:
    household = await session.get(LabourerHousehold, household_id)
    if household is None:
        raise NotFound(f"农户 {household_id} 尚未从监测系统同步到本系统")
    ensure_reach(principal, household.township, household.village)
    on = body.assigned_on or clock.today()
    if on > clock.today():
        raise DomainError("assigned_on", f"安排日期 {on} 晚于今天", "future_date")
    await _set_helper(session, household_id, body.helper_name, body.helper_unit, on, "county")
    return await session.get(HouseholdHelper, household_id, populate_existing=True)


async def set_situation(session: AsyncSession, labourer_id: str, body: SituationSet,
                        principal: Principal, clock: Clock) -> LabourerSituation:
    await get_labourer(session, labourer_id, principal)
    row = await session.get(LabourerSituation, labourer_id)
    before = row.model_dump(mode="json") if row else None
    row = row or LabourerSituation(labourer_id=labourer_id, updated_on=clock.today(),
                                   updated_by=principal.sub)
    row.reason, row.remark = body.reason, body.remark
    row.updated_on, row.updated_by = clock.today(), principal.sub
    session.add(row)
    await session.flush()
    await audit.record(session, principal, entity_type="labourer", entity_id=labourer_id,
                       action="situation", before=before, after=row.model_dump(mode="json"),
                       now=clock.now())
    return row


def event_date(at: datetime) -> date:
    return business_date(at)
