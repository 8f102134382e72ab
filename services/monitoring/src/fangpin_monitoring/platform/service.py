"""The provincial platform exchange (X1): idempotent batch upserts and the change feed.

The platform is the system of record upstream: a newer platform version replaces the
household here (local edits included); an older one or a replay changes nothing and emits
nothing. Never commits.
"""

from __future__ import annotations

from collections import Counter

from pydantic import ValidationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import DomainError
from fangpin_monitoring.changes import service as changes
from fangpin_monitoring.changes.rules import encode_cursor
from fangpin_monitoring.households import service as households
from fangpin_monitoring.households.models import Household, HouseholdCreate, Member
from fangpin_monitoring.platform import rules
from fangpin_monitoring.platform.models import (
    BatchResult,
    ChangeRead,
    ChangesPage,
    ItemError,
    ItemResult,
    PlatformBatch,
    PlatformItem,
    PlatformRecord,
)

STATUSES = ("created", "updated", "unchanged", "stale", "conflict", "rejected")


async def upsert_batch(session: AsyncSession, batch: PlatformBatch, principal: Principal,
                       county: County, clock: Clock) -> BatchResult:
    results = [await upsert_item(session, index, raw, principal, county, clock)
               for index, raw in enumerate(batch.items)]
    counts = Counter(r.status for r in results)
    return BatchResult(counts={s: counts.get(s, 0) for s in STATUSES}, items=results)


async def upsert_item(session: AsyncSession, index: int, raw: dict, principal: Principal,
                      county: County, clock: Clock) -> ItemResult:
    prefix: list[str | int] = ["body", "items", index]
    raw_id = raw.get("platform_id")
    try:
        item = PlatformItem.model_validate(raw)
    except ValidationError as exc:
        return ItemResult(index=index, platform_id=raw_id if isinstance(raw_id, str) else None,
                          status="rejected", errors=[
                              ItemError(loc=[*prefix, *err["loc"]], msg=err["msg"],
                                        type=err["type"]) for err in exc.errors()])
    try:
        return await _apply(session, index, item, principal, county, clock)
    except DomainError as exc:
        # Domain errors name a path inside the household ("members", 0, "id_number").
        return ItemResult(index=index, platform_id=item.platform_id, status="rejected",
                          version=item.version, errors=[ItemError(
                              loc=[*prefix, "household", *exc.loc[1:]], msg=exc.message,
                              type=exc.code)])


async def _apply(session: AsyncSession, index: int, item: PlatformItem, principal: Principal,
                 county: County, clock: Clock) -> ItemResult:
    data = item.household
    township = households.resolve_township(county, data.township)
    households.check_members(data.members, clock.today())
    digest = rules.content_hash(data.model_dump(mode="json"))
    record = await session.get(PlatformRecord, item.platform_id)
    stored = (record.version, record.source_updated_at) if record else None
    action = rules.outcome((item.version, item.updated_at), digest, stored,
                           record.content_hash if record else None)
    result = ItemResult(index=index, platform_id=item.platform_id, status="unchanged",
                        version=item.version, stored_version=record.version if record else None,
                        household_id=record.household_id if record else None)
    if action in ("unchanged", "stale"):
        result.status = action
        return result
    if action == "conflict":
        result.status = "conflict"
        result.errors = [ItemError(loc=["body", "items", index, "version"], type="conflict",
                                   msg=f"版本 {item.version} 已以不同内容接收过；"
                                       "内容变化时请递增版本号")]
        return result
    now = clock.now()
    fields = data.model_dump(exclude={"members"}) | {"township": township}
    target = record.household_id if record else await _local_household_of(session, data)
    if target is None:
        household, _ = await households.create_household(
            session, HouseholdCreate.model_validate(data.model_dump()), principal, county, clock,
            origin="platform")
        result.status = "created"
    else:
        household, members = await households.get_household(session, target, principal,
                                                            lock=True)
        await households.check_not_elsewhere(session, data.members, household.id)
        await households.replace_household(session, household, members, fields, data.members,
                                           principal, now, origin="platform")
        result.status = "updated"
    household.platform_id = item.platform_id
    session.add(household)
    if record is None:
        record = PlatformRecord(platform_id=item.platform_id, household_id=household.id,
                                version=item.version, source_updated_at=item.updated_at,
                                content_hash=digest, received_at=now)
    else:
        record.version, record.source_updated_at = item.version, item.updated_at
        record.content_hash, record.received_at = digest, now
    session.add(record)
    await session.flush()
    result.household_id = household.id
    return result


async def _local_household_of(session: AsyncSession, data) -> str | None:
    """A household registered here (not yet linked to the platform) holding the item's people.

    People spread over several households, or held by a household the platform knows under
    another id, are refused by the one-person-one-household rule."""
    ids = [m.id_number for m in data.members]
    owners = set((await session.exec(
        select(Member.household_id).where(Member.id_number.in_(ids)))).all())
    if len(owners) != 1:
        if owners:
            await households.check_not_elsewhere(session, data.members, None)
        return None
    owner = owners.pop()
    linked = (await session.exec(select(PlatformRecord.platform_id).where(
        PlatformRecord.household_id == owner))).first()
    if linked is not None:
        await households.check_not_elsewhere(session, data.members, None)
    return owner


async def changes_page(session: AsyncSession, after: int, limit: int,
                       principal: Principal) -> ChangesPage:
    rows = await changes.read_after(session, after, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    ids = list(dict.fromkeys(r.household_id for r in rows))
    found = {h.id: h for h in (await session.exec(
        select(Household).where(Household.id.in_(ids)))).all()} if ids else {}
    members = await households.members_of(session, ids) if ids else {}
    return ChangesPage(
        changes=[ChangeRead(
            household_id=r.household_id, revision=r.revision, origin=r.origin,
            changed_at=r.changed_at,
            platform_id=found[r.household_id].platform_id if r.household_id in found else None,
            household=households.to_read(found[r.household_id], members[r.household_id],
                                         principal) if r.household_id in found else None,
        ) for r in rows],
        next_cursor=encode_cursor(rows[-1].seq if rows else after),
        has_more=has_more,
    )
