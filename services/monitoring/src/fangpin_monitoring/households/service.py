"""Household rules applied to the database. Never commits: the caller's unit of work does."""

from __future__ import annotations

from fastapi import HTTPException, status
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox, revisions
from fangpin_common.auth import Principal, ensure_reach, mask_id_number, mask_phone, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_monitoring.changes import service as changes
from fangpin_monitoring.households import permissions, rules
from fangpin_monitoring.households.events import household_upserted
from fangpin_monitoring.households.models import (
    Household,
    HouseholdCreate,
    HouseholdRead,
    HouseholdUpdate,
    Member,
    MemberCreate,
    MemberRead,
)


def resolve_township(county: County, value: str, field: str = "township") -> str:
    township = county.township(value)
    if township is None:
        raise DomainError(field, f"未知乡镇：{value}（应为本县12个乡镇之一）", "unknown_township")
    return township.code


def check_members(members: list[MemberCreate], today) -> None:
    seen: dict[str, int] = {}
    for i, member in enumerate(members):
        for field, reason in rules.member_problems(member.id_number, member.birth_date,
                                                   member.sex, today):
            raise DomainError(["members", i, field], reason, "invalid_member")
        if member.id_number in seen:
            raise DomainError(["members", i, "id_number"],
                              f"与第 {seen[member.id_number] + 1} 名成员身份证号重复", "duplicate")
        seen[member.id_number] = i
    if not any(m.relation == "户主" for m in members):
        raise DomainError(["members"], "家庭成员中须有一名户主（relation=户主）", "no_head")


async def check_not_elsewhere(session: AsyncSession, members: list[MemberCreate],
                              household_id: str | None) -> None:
    """One person, one household: a second household claiming the same ID is refused."""
    ids = [m.id_number for m in members]
    rows = await session.execute(
        select(Member.id_number, Member.household_id).where(Member.id_number.in_(ids)))
    for id_number, other in rows:
        if other != household_id:
            index = ids.index(id_number)
            here = household_id or "（本次新建户）"
            raise DomainError(["members", index, "id_number"],
                              f"该身份证号已登记在户 {other}，不能同时登记在户 {here}",
                              "person_in_other_household")


async def announce(session: AsyncSession, household: Household, members: list[Member], now,
                   origin: str = "local", log_change: bool = True) -> None:
    """Every household write ends here: the upserted event, and the change log the provincial
    platform pulls from (changes its own batches made are not echoed back to it).

    The change is logged when the transaction commits (changes/service.py)."""
    await outbox.emit(session, household_upserted(household, members, now))
    if origin != "platform" and log_change:
        changes.record_at_commit(session, [(household.id, household.revision)], origin, now)


def _member_rows(household_id: str, members: list[MemberCreate],
                 keep_ids: dict[str, str] | None = None,
                 ids: list[str | None] | None = None) -> list[Member]:
    keep_ids = keep_ids or {}
    ids = ids or [None] * len(members)
    fields = set(MemberCreate.model_fields)
    return [Member(id=given or keep_ids.get(m.id_number, new_id()),
                   household_id=household_id, **m.model_dump(include=fields))
            for m, given in zip(members, ids, strict=True)]


class FieldsForbidden(HTTPException):
    """403 naming each field the caller's level may not change (限级修改)."""

    def __init__(self, role: str, paths: list[str]) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, detail={
            "msg": permissions.refusal_message(role, paths), "fields": paths})
        self.paths = paths


def snapshot(household: Household, members: list[Member]) -> dict:
    return household.model_dump(mode="json") | {
        "members": [m.model_dump(mode="json") for m in members]}


async def create_household(session: AsyncSession, data: HouseholdCreate, principal: Principal,
                           county: County, clock: Clock,
                           origin: str = "local") -> tuple[Household, list[Member]]:
    township = resolve_township(county, data.township)
    ensure_reach(principal, township, data.village)
    check_members(data.members, clock.today())
    await check_not_elsewhere(session, data.members, None)
    now = clock.now()
    head = next(m for m in data.members if m.relation == "户主")
    household = Household(id=new_id(), head_name=head.name, created_at=now, updated_at=now,
                          **(data.model_dump(exclude={"members"}) | {"township": township}))
    members = _member_rows(household.id, data.members)
    session.add(household)
    await session.flush()
    session.add_all(members)
    await session.flush()
    await audit.record(session, principal, entity_type="household", entity_id=household.id,
                       action="create", before=None, after=snapshot(household, members), now=now)
    await announce(session, household, members, now, origin)
    return household, members


# How a 412 names what another clerk changed.
FIELD_LABELS = permissions.LABELS | {"head_name": "户主", "members": "家庭成员"}


async def update_household(session: AsyncSession, household_id: str, data: HouseholdUpdate,
                           principal: Principal, county: County, clock: Clock,
                           expected: int) -> tuple[Household, list[Member]]:
    """A clerk's edit based on revision `expected`: refused with 412 if the household changed
    since (see fangpin_common.revisions), so no edit silently undoes another."""
    await get_household(session, household_id, principal)  # out of reach: 404/403, not 412
    await revisions.claim(session, Household, household_id, expected, label="农户",
                          audit=("household", household_id), labels=FIELD_LABELS)
    household, members = await get_household(session, household_id, principal, lock=True)
    stored_ids = {m.id for m in members}
    for i, member in enumerate(data.members):
        if member.id and member.id not in stored_ids:
            raise DomainError(["members", i, "id"], f"本户没有编号为 {member.id} 的成员",
                              "unknown_member")
    before = snapshot(household, members)
    fields = data.model_dump(exclude={"members", "township", "revision"})
    fields["township"] = (resolve_township(county, data.township) if data.township
                          else household.township)
    after = permissions.restore_masked(
        before, fields | {"members": [m.model_dump() for m in data.members]})
    forbidden = permissions.forbidden_changes(principal.role, before, after,
                                              county.field_permissions)
    if forbidden:
        raise FieldsForbidden(principal.role, forbidden)
    ensure_reach(principal, after["township"], data.village)
    new_members = [MemberCreate.model_validate(m) for m in after["members"]]
    check_members(new_members, clock.today())
    await check_not_elsewhere(session, new_members, household.id)
    pairs, _, _ = permissions.pair_members(before["members"], after["members"])
    ids: list[str | None] = [None] * len(new_members)
    for i, stored in pairs:
        ids[i] = stored["id"]
    return await replace_household(session, household, members,
                                   {k: after[k] for k in fields}, new_members,
                                   principal, clock.now(), member_ids=ids, claimed=True)


async def replace_household(session: AsyncSession, household: Household, members: list[Member],
                            fields: dict, new_data: list[MemberCreate], principal: Principal,
                            now, origin: str = "local", log_change: bool = True,
                            member_ids: list[str | None] | None = None,
                            claimed: bool = False) -> tuple[Household, list[Member]]:
    """Replace a checked household's facts and members (member ids kept by ID number);
    `claimed`: the revision was already moved on by revisions.claim."""
    before = snapshot(household, members)
    if claimed:
        before["revision"] -= 1  # the audit entry shows the revision the edit was based on
    for field, value in fields.items():
        setattr(household, field, value)
    household.head_name = next(m for m in new_data if m.relation == "户主").name
    if not claimed:
        household.revision += 1
    household.updated_at = now
    kept = {m.id_number: m.id for m in members}
    for member in members:
        await session.delete(member)
    await session.flush()
    new_members = _member_rows(household.id, new_data, kept, member_ids)
    session.add_all(new_members)
    session.add(household)
    await session.flush()
    await audit.record(session, principal, entity_type="household", entity_id=household.id,
                       action="update", before=before, after=snapshot(household, new_members),
                       now=now)
    await announce(session, household, new_members, now, origin, log_change)
    return household, new_members


async def get_household(session: AsyncSession, household_id: str, principal: Principal,
                        lock: bool = False) -> tuple[Household, list[Member]]:
    """The household and its members; `lock` (to change it) reads it fresh and holds its row
    until the commit, so that concurrent changes apply one after the other, none lost."""
    if lock:
        household = await session.get(Household, household_id, with_for_update=True,
                                      populate_existing=True)
    else:
        household = await session.get(Household, household_id)
    if household is None:
        raise NotFound(f"农户 {household_id} 不存在")
    ensure_reach(principal, household.township, household.village, resource="households",
                 row=household)
    return household, (await members_of(session, [household_id]))[household_id]


async def members_of(session: AsyncSession, household_ids: list[str]) -> dict[str, list[Member]]:
    by_household: dict[str, list[Member]] = {h: [] for h in household_ids}
    rows = await session.exec(select(Member).where(Member.household_id.in_(household_ids))
                              .order_by(Member.household_id, Member.id))
    for member in rows.all():
        by_household[member.household_id].append(member)
    return by_household


async def list_households(session: AsyncSession, principal: Principal, township: str | None,
                          village: str | None, limit: int, offset: int) -> list[Household]:
    query = select(Household).order_by(Household.created_at, Household.id)
    query = within_reach(query, principal, Household.township, Household.village,
                         resource="households", entity=Household)
    if township:
        query = query.where(Household.township == township)
    if village:
        query = query.where(Household.village == village)
    return list((await session.exec(query.limit(limit).offset(offset))).all())


def to_read(household: Household, members: list[Member], principal: Principal) -> HouseholdRead:
    reveal = principal.sees_identity_numbers
    return HouseholdRead(
        **household.model_dump(exclude={"phone", "platform_id"}),
        phone=household.phone if reveal else mask_phone(household.phone),
        members=[MemberRead(**(m.model_dump() | {
            "id_number": m.id_number if reveal else mask_id_number(m.id_number),
            "phone": m.phone if reveal else mask_phone(m.phone)})) for m in members],
    )
