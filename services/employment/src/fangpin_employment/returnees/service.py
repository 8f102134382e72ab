"""Returnees and key groups applied to the database. Never commits: the caller's unit does."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, ensure_reach, within_reach
from fangpin_common.clock import Clock, business_date
from fangpin_common.county import County
from fangpin_common.db import is_postgres
from fangpin_common.deadlines import meet_deadline, open_deadline
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_common.tables import DEADLINES
from fangpin_employment import sql
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.models import Labourer
from fangpin_employment.policy import EmploymentPolicy
from fangpin_employment.returnees import rules
from fangpin_employment.returnees.events import returned_home
from fangpin_employment.returnees.models import (
    GraduateCreate,
    KeyGroupMember,
    KeyGroupMemberRead,
    OutcomeSet,
    Return,
    ReturnCreate,
    ReturnLeft,
)
from fangpin_employment.vocabulary import KEY_GROUPS, KG_MONITORED, KG_POST_LEAVER, KG_RETURNEE

MEMBER_T = KeyGroupMember.__table__
RETURN_T = Return.__table__


def _raise_first(problems: list[tuple[str, str]], code: str = "invalid") -> None:
    for field, reason in problems:
        raise DomainError(field, reason, code)


# -- monitored people: derived from monitoring's household events ---------------------------
async def sync_monitored(session: AsyncSession, households: Sequence[dict],
                         labourer_rows: Sequence[dict]) -> None:
    """Keep the 监测对象 key group in step with the households' latest facts (idempotent)."""
    monitored = {h["id"]: h for h in households if h["category"] == "监测户"}
    joins, leaves = [], defaultdict(list)
    for row in labourer_rows:
        household = monitored.get(row["household_id"])
        if household is not None and row["active"]:
            since = household["monitored_since"] or business_date(household["updated_at"])
            joins.append({"id": new_id(), "labourer_id": row["id"], "key_group": KG_MONITORED,
                          "source": "monitoring", "source_id": household["id"],
                          "township": row["township"], "village": row["village"],
                          "since": since, "ended_on": None, "created_at": row["updated_at"]})
        else:
            leaves[business_date(row["updated_at"])].append(row["id"])
    if joins:
        stmt = sql.insert_for(session, MEMBER_T)
        # A household monitored again reopens its members' membership.
        stmt = stmt.on_conflict_do_update(
            index_elements=["labourer_id", "key_group", "source_id"],
            set_={"ended_on": None,
                  "since": case((MEMBER_T.c.ended_on.is_(None), MEMBER_T.c.since),
                                else_=stmt.excluded.since),
                  "township": stmt.excluded.township, "village": stmt.excluded.village})
        await session.execute(stmt, joins)
    for day, ids in leaves.items():
        for part in labourers._chunked(ids):
            await session.execute(update(MEMBER_T).where(
                MEMBER_T.c.labourer_id.in_(part), MEMBER_T.c.key_group == KG_MONITORED,
                MEMBER_T.c.ended_on.is_(None)).values(ended_on=day))


async def monitored_since_known(session: AsyncSession, household_id: str, since: date) -> None:
    await session.execute(update(MEMBER_T).where(
        MEMBER_T.c.source_id == household_id, MEMBER_T.c.key_group == KG_MONITORED,
        MEMBER_T.c.ended_on.is_(None), MEMBER_T.c.since > since).values(since=since))


# -- returns ----------------------------------------------------------------------------------
async def report_return(session: AsyncSession, body: ReturnCreate, principal: Principal,
                        policy: EmploymentPolicy, clock: Clock) -> Return:
    labourer = await labourers.get_labourer(session, body.labourer_id, principal, "labourer_id")
    today, now = clock.today(), clock.now()
    _raise_first(rules.return_problems(back_since=body.back_since, today=today,
                                       active=labourer.active))
    open_return = (await session.execute(select(Return.id).where(
        Return.labourer_id == labourer.id, Return.state.in_(("back", "returnee"))))).first()
    if open_return is not None:
        raise Conflict(f"该劳动力已有未结束的返乡记录 {open_return[0]}")
    row = Return(id=new_id(), labourer_id=labourer.id, household_id=labourer.household_id,
                 township=labourer.township, village=labourer.village,
                 previous_location_type=body.previous_location_type,
                 previous_place=body.previous_place, back_since=body.back_since,
                 qualifies_on=rules.qualifies_on(body.back_since, policy.returnee_months),
                 state="back", reported_by=principal.sub, created_at=now)
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent report for the same labourer won
        raise Conflict("该劳动力已有未结束的返乡记录") from exc
    await audit.record(session, principal, entity_type="return", entity_id=row.id,
                       action="report", before=None, after=row.model_dump(mode="json"), now=now)
    return row


async def left_again(session: AsyncSession, return_id: str, body: ReturnLeft,
                     principal: Principal, clock: Clock) -> Return:
    row = await get_return(session, return_id, principal)
    if row.state not in ("back", "returnee"):
        raise Conflict(f"返乡记录 {row.id} 已结束（{row.state}）")
    _raise_first(rules.left_problems(left_on=body.left_on, back_since=row.back_since,
                                     today=clock.today()))
    before = row.model_dump(mode="json")
    was_returnee = row.state == "returnee"
    row.state, row.left_on = "away", body.left_on
    session.add(row)
    if was_returnee:
        await session.execute(update(MEMBER_T).where(
            MEMBER_T.c.source_id == row.id, MEMBER_T.c.ended_on.is_(None)).values(
            ended_on=body.left_on,
            outcome=case((MEMBER_T.c.outcome.is_(None), "外出务工"), else_=MEMBER_T.c.outcome),
            outcome_on=case((MEMBER_T.c.outcome_on.is_(None), body.left_on),
                            else_=MEMBER_T.c.outcome_on)))
        await session.execute(update(DEADLINES).where(
            DEADLINES.c.kind == rules.RETURNEE_ASSISTANCE_DEADLINE,
            DEADLINES.c.subject_id == row.id, DEADLINES.c.state == "open",
        ).values(state="cancelled"))
    await session.flush()
    await audit.record(session, principal, entity_type="return", entity_id=row.id,
                       action="left_again", before=before, after=row.model_dump(mode="json"),
                       now=clock.now())
    return row


async def get_return(session: AsyncSession, return_id: str, principal: Principal) -> Return:
    row = await session.get(Return, return_id)
    if row is None:
        raise NotFound(f"返乡记录 {return_id} 不存在")
    ensure_reach(principal, row.township, row.village)
    return row


async def list_returns(session: AsyncSession, principal: Principal, county: County,
                       township: str | None, state: str | None) -> list[Return]:
    query = select(Return).order_by(Return.back_since, Return.id)
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(Return.township == code)
    else:
        query = within_reach(query, principal, Return.township, Return.village)
    if state:
        query = query.where(Return.state == state)
    return list((await session.execute(query)).scalars())


async def scan_returns(database, county: County, policy: EmploymentPolicy, clock: Clock,
                       batch_size: int = 500) -> int:
    """Returns back for more than the month become returnees: claimed atomically, each emits
    worker.returned_home exactly once however many replicas scan."""
    total = 0
    while True:
        today, now = clock.today(), clock.now()
        condition = and_(RETURN_T.c.state == "back", RETURN_T.c.qualifies_on <= today)
        claimable = select(RETURN_T.c.id).where(condition).order_by(
            RETURN_T.c.qualifies_on).limit(batch_size)
        if is_postgres(database.engine):
            claimable = claimable.with_for_update(skip_locked=True)
        async with database.unit_of_work() as session:
            rows = (await session.execute(
                update(RETURN_T).where(RETURN_T.c.id.in_(claimable.scalar_subquery()), condition)
                .values(state="returnee", qualified_at=now).returning(*RETURN_T.c))).all()
            if not rows:
                return total
            rule = county.deadline_rule(rules.RETURNEE_ASSISTANCE_DEADLINE, 30, 5)
            await sql.upsert(session, MEMBER_T, [{
                "id": new_id(), "labourer_id": row.labourer_id, "key_group": KG_RETURNEE,
                "source": "return", "source_id": row.id, "township": row.township,
                "village": row.village, "since": row.back_since, "created_at": now}
                for row in rows], ["labourer_id", "key_group", "source_id"])
            from fangpin_employment.assistance.service import completed_set

            done = await completed_set(session, [row.labourer_id for row in rows], today, policy)
            for row in rows:
                await outbox.emit(session, returned_home(row, row.qualifies_on, now))
                # N1: a returnee awaiting "251" assistance is a deadline of its own.
                await open_deadline(
                    session, rule, subject_type="return", subject_id=row.id,
                    started_on=today, now=now, household_id=row.household_id,
                    township=row.township, village=row.village,
                    context={"labourer_id": row.labourer_id, "back_since":
                             row.back_since.isoformat()})
                if row.labourer_id in done:
                    await meet_deadline(session, rules.RETURNEE_ASSISTANCE_DEADLINE, row.id,
                                        today)
        total += len(rows)
        if len(rows) < batch_size:
            return total


# -- key groups -------------------------------------------------------------------------------
async def add_graduate(session: AsyncSession, body: GraduateCreate, principal: Principal,
                       clock: Clock) -> KeyGroupMember:
    labourer = await labourers.get_labourer(session, body.labourer_id, principal, "labourer_id")
    today = clock.today()
    since = body.since or today
    _raise_first(rules.graduate_problems(household_category=labourer.household_category,
                                         since=since, today=today))
    source_id = f"graduate:{body.graduation_year}"
    exists = (await session.execute(select(KeyGroupMember.id).where(
        KeyGroupMember.labourer_id == labourer.id, KeyGroupMember.key_group == body.key_group,
        KeyGroupMember.source_id == source_id))).first()
    if exists is not None:
        raise Conflict(f"该毕业生已登记（{exists[0]}）")
    member = KeyGroupMember(id=new_id(), labourer_id=labourer.id, key_group=body.key_group,
                            source="county", source_id=source_id, township=labourer.township,
                            village=labourer.village, since=since,
                            graduation_year=body.graduation_year, created_at=clock.now())
    await audit.added(session, principal, member, entity_type="key_group_member", now=clock.now())
    return member


async def add_post_leaver(session: AsyncSession, labourer: Labourer, holding_id: str,
                          left_on: date, now) -> None:
    await session.execute(sql.insert_for(session, MEMBER_T).values(
        id=new_id(), labourer_id=labourer.id, key_group=KG_POST_LEAVER, source="post",
        source_id=holding_id, township=labourer.township, village=labourer.village,
        since=left_on, created_at=now,
    ).on_conflict_do_nothing(index_elements=["labourer_id", "key_group", "source_id"]))


async def set_outcome(session: AsyncSession, member_id: str, body: OutcomeSet,
                      principal: Principal, clock: Clock) -> KeyGroupMember:
    member = await session.get(KeyGroupMember, member_id)
    if member is None:
        raise NotFound(f"重点群体记录 {member_id} 不存在")
    ensure_reach(principal, member.township, member.village)
    _raise_first(rules.outcome_problems(outcome_on=body.outcome_on, since=member.since,
                                        today=clock.today()))
    before = member.model_dump(mode="json")
    member.outcome, member.outcome_on, member.outcome_note = (body.outcome, body.outcome_on,
                                                              body.note)
    session.add(member)
    await session.flush()
    await audit.record(session, principal, entity_type="key_group_member", entity_id=member.id,
                       action="outcome", before=before, after=member.model_dump(mode="json"),
                       now=clock.now())
    return member


def open_on(on: date):
    return and_(KeyGroupMember.since <= on,
                or_(KeyGroupMember.ended_on.is_(None), KeyGroupMember.ended_on > on))


async def list_members(session: AsyncSession, principal: Principal, county: County,
                       township: str | None, group: str | None, on: date,
                       limit: int = 1000, offset: int = 0) -> list[KeyGroupMemberRead]:
    query = (select(KeyGroupMember, Labourer.name)
             .join(Labourer, Labourer.id == KeyGroupMember.labourer_id)
             .where(open_on(on), Labourer.active)
             .order_by(KeyGroupMember.township, KeyGroupMember.village, Labourer.name,
                       KeyGroupMember.key_group, KeyGroupMember.id))
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        query = query.where(KeyGroupMember.township == code)
    else:
        query = within_reach(query, principal, KeyGroupMember.township, KeyGroupMember.village)
    if group:
        if group not in KEY_GROUPS:
            raise DomainError("group", f"未知重点群体：{group}", "unknown_group",
                              location="query")
        query = query.where(KeyGroupMember.key_group == group)
    rows = await session.execute(query.limit(limit).offset(offset))
    return [KeyGroupMemberRead(**m.model_dump(), name=name) for m, name in rows]
