"""The campaign applied to the database. Never commits: the caller's unit of work does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, func, insert, literal, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal, ensure_reach, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.db import UTCDateTime
from fangpin_common.deadlines import meet_deadline, open_deadline
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_monitoring.campaigns import rules
from fangpin_monitoring.campaigns.models import (
    AssignmentCreate,
    Campaign,
    CampaignCreate,
    CampaignRead,
    Checklist,
    ChecklistRead,
    ItemMark,
    ItemRead,
    ItemResult,
    Person,
    ProgressReport,
    ProgressRow,
)
from fangpin_monitoring.households.models import Household
from fangpin_monitoring.refusals import refuse_if

CHUNK = 1000


def deadline_subject(campaign_id: str, township: str) -> str:
    return f"{campaign_id}:{township}"


async def create_campaign(session: AsyncSession, data: CampaignCreate, principal: Principal,
                          county: County, clock: Clock) -> Campaign:
    today, now = clock.today(), clock.now()
    problems = rules.campaign_problems(data.start_on, data.due_on, today)
    townships: list[str] = []
    for i, value in enumerate(data.townships):
        township = county.township(value)
        if township is None:
            problems.append((["townships", i], f"未知乡镇：{value}", "unknown_township"))
        elif township.code not in townships:
            townships.append(township.code)
    refuse_if(problems)
    campaign = Campaign(id=new_id(), name=data.name.strip(), start_on=data.start_on,
                        due_on=data.due_on, townships=townships,
                        categories=list(dict.fromkeys(data.categories)),
                        items=[i.model_dump() for i in county.campaign.items],
                        created_by=principal.sub, created_at=now)
    session.add(campaign)
    await session.flush()
    # One statement whatever the number of households (300,000 is a plain INSERT … SELECT).
    h = Household.__table__.c
    chosen = (select(literal(campaign.id), h.id, h.township, h.village, literal(0), literal(0),
                     literal(0), literal(False), literal(now, UTCDateTime()))
              .where(h.category.in_(campaign.categories)))
    if townships:
        chosen = chosen.where(h.township.in_(townships))
    c = Checklist.__table__.c
    await session.execute(insert(Checklist.__table__).from_select(
        [c.campaign_id, c.household_id, c.township, c.village, c.items_verified, c.items_open,
         c.items_fixed, c.complete, c.created_at], chosen))
    per_township = (await session.execute(
        select(c.township, func.count()).where(c.campaign_id == campaign.id)
        .group_by(c.township).order_by(c.township))).all()
    campaign.households = sum(n for _, n in per_township)
    # One deadline per township: the reminder goes to the township that answers for them.
    rule = county.deadline_rule(rules.DEADLINE, 0, rules.DEFAULT_WARN_DAYS)
    for township, households in per_township:
        await open_deadline(session, rule, subject_type="campaign_township",
                            subject_id=deadline_subject(campaign.id, township),
                            started_on=max(campaign.start_on, today), due_on=campaign.due_on,
                            township=township, now=now,
                            context={"campaign_id": campaign.id, "campaign_name": campaign.name,
                                     "households": households})
    await audit.added(session, principal, campaign, entity_type="campaign", now=now)
    return campaign


def read_campaign(campaign: Campaign) -> CampaignRead:
    return CampaignRead.model_validate(campaign, from_attributes=True)


async def get_campaign(session: AsyncSession, campaign_id: str) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"专项行动 {campaign_id} 不存在")
    return campaign


async def list_campaigns(session: AsyncSession) -> list[Campaign]:
    return list((await session.exec(select(Campaign).order_by(Campaign.created_at.desc(),
                                                              Campaign.id))).scalars().all())


def _scoped(query, principal: Principal):
    return within_reach(query, principal, Checklist.township, Checklist.village)


STATES = {
    "unassigned": Checklist.responsible_name.is_(None),
    "assigned": Checklist.responsible_name.is_not(None),
    "open": Checklist.items_open > 0,
    "complete": Checklist.complete.is_(True),
    "incomplete": Checklist.complete.is_(False),
    "signed_off": Checklist.signed_off_at.is_not(None),
    "not_signed_off": Checklist.signed_off_at.is_(None),
}


async def list_checklists(session: AsyncSession, campaign: Campaign, principal: Principal,
                          township: str | None, village: str | None, state: str | None,
                          limit: int, offset: int) -> list[Checklist]:
    query = _scoped(select(Checklist).where(Checklist.campaign_id == campaign.id), principal)
    if township:
        query = query.where(Checklist.township == township)
    if village:
        query = query.where(Checklist.village == village)
    if state:
        query = query.where(STATES[state])
    query = query.order_by(Checklist.township, Checklist.village, Checklist.household_id)
    return list((await session.exec(query.limit(limit).offset(offset))).scalars().all())


async def get_checklist(session: AsyncSession, campaign_id: str, household_id: str,
                        principal: Principal, lock: bool = False) -> Checklist:
    query = select(Checklist).where(Checklist.campaign_id == campaign_id,
                                    Checklist.household_id == household_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    checklist = (await session.exec(query)).scalars().first()
    if checklist is None:
        raise NotFound(f"专项行动 {campaign_id} 没有农户 {household_id} 的核实清单")
    ensure_reach(principal, checklist.township, checklist.village)
    return checklist


async def results_of(session: AsyncSession, checklist: Checklist) -> dict[str, ItemResult]:
    rows = (await session.exec(select(ItemResult).where(
        ItemResult.campaign_id == checklist.campaign_id,
        ItemResult.household_id == checklist.household_id))).scalars().all()
    return {r.code: r for r in rows}


def _person(name, unit, phone) -> Person | None:
    return Person(name=name, unit=unit, phone=phone) if name else None


def read_checklist(checklist: Checklist, campaign: Campaign | None = None,
                   results: dict[str, ItemResult] | None = None) -> ChecklistRead:
    items = None
    if campaign is not None and results is not None:
        items = []
        for item in campaign.items:
            result = results.get(item["code"])
            items.append(ItemRead(code=item["code"], name=item["name"],
                                  status=result.status if result else "pending",
                                  note=result.note if result else None,
                                  fix=result.fix if result else None,
                                  checked_on=result.checked_on if result else None,
                                  fixed_on=result.fixed_on if result else None))
    return ChecklistRead(
        campaign_id=checklist.campaign_id, household_id=checklist.household_id,
        township=checklist.township, village=checklist.village,
        responsible=_person(checklist.responsible_name, checklist.responsible_unit,
                            checklist.responsible_phone),
        verifier=_person(checklist.verifier_name, checklist.verifier_unit,
                         checklist.verifier_phone),
        items_verified=checklist.items_verified, items_open=checklist.items_open,
        items_fixed=checklist.items_fixed, complete=checklist.complete,
        completed_on=checklist.completed_on, signed_off=checklist.signed_off_at is not None,
        signed_off_at=checklist.signed_off_at, items=items)


_PEOPLE = ("responsible_name", "responsible_unit", "responsible_phone", "verifier_name",
           "verifier_unit", "verifier_phone")


async def assign(session: AsyncSession, campaign: Campaign, data: AssignmentCreate,
                 principal: Principal, clock: Clock) -> int:
    """包抓 and 包核 for the named households and every household of the named villages
    (within the caller's reach; checklists already signed off are left as they are)."""
    if not data.household_ids and not data.villages:
        raise DomainError("household_ids", "须指定农户（household_ids）或村（villages）",
                          "required")
    found: dict[str, Checklist] = {}
    ids = list(dict.fromkeys(data.household_ids))
    for start in range(0, len(ids), CHUNK):
        rows = (await session.exec(select(Checklist).where(
            Checklist.campaign_id == campaign.id,
            Checklist.household_id.in_(ids[start:start + CHUNK])))).scalars().all()
        found.update({r.household_id: r for r in rows})
    problems = []
    for i, household_id in enumerate(data.household_ids):
        checklist = found.get(household_id)
        if checklist is None:
            problems.append((["household_ids", i],
                             f"本次专项行动没有农户 {household_id} 的核实清单", "not_in_campaign"))
        elif not principal.can_reach(checklist.township, checklist.village):
            problems.append((["household_ids", i], f"农户 {household_id} 不在本辖区",
                             "out_of_scope"))
        elif checklist.signed_off_at is not None:
            problems.append((["household_ids", i],
                             f"农户 {household_id} 的核实清单已包过（签字确认），不能再调整责任人",
                             "signed_off"))
    if data.villages:
        present = set((await session.exec(_scoped(
            select(Checklist.village).distinct().where(
                Checklist.campaign_id == campaign.id, Checklist.village.in_(data.villages)),
            principal))).scalars().all())
        for i, village in enumerate(data.villages):
            if village not in present:
                problems.append((["villages", i], f"本辖区在本次专项行动中没有村 {village} 的农户",
                                 "not_in_campaign"))
    refuse_if(problems)
    where = [Checklist.campaign_id == campaign.id, Checklist.signed_off_at.is_(None)]
    chosen = []
    if ids:
        chosen.append(Checklist.household_id.in_(ids))
    if data.villages:
        chosen.append(Checklist.village.in_(data.villages))
    selection = _scoped(select(Checklist).where(*where, or_(*chosen)), principal)
    targets = (await session.exec(selection)).scalars().all()
    if not targets:
        return 0
    now = clock.now()
    values = {"responsible_name": data.responsible.name, "responsible_unit": data.responsible.unit,
              "responsible_phone": data.responsible.phone, "verifier_name": data.verifier.name,
              "verifier_unit": data.verifier.unit, "verifier_phone": data.verifier.phone}
    entries = [{"entity_type": "campaign_checklist", "entity_id": t.household_id,
                "action": "assign",
                "before": {"campaign_id": campaign.id} | {k: getattr(t, k) for k in _PEOPLE},
                "after": {"campaign_id": campaign.id} | values} for t in targets]
    household_ids = [t.household_id for t in targets]
    for start in range(0, len(household_ids), CHUNK):
        await session.execute(
            update(Checklist)
            .where(Checklist.campaign_id == campaign.id,
                   Checklist.household_id.in_(household_ids[start:start + CHUNK]))
            .values(**values, assigned_at=now)
            .execution_options(synchronize_session=False))
    await audit.record_many(session, principal, entries, now)
    return len(targets)


async def mark_item(session: AsyncSession, campaign: Campaign, household_id: str, code: str,
                    mark: ItemMark, principal: Principal, clock: Clock) -> ChecklistRead:
    """One item checked: 账实相符, not matching (with a note), or its discrepancy fixed."""
    codes = [i["code"] for i in campaign.items]
    if code not in codes:
        raise DomainError("code", f"未知核实项目：{code}（应为 {'、'.join(codes)} 之一）",
                          "unknown_item", location="path")
    checklist = await get_checklist(session, campaign.id, household_id, principal, lock=True)
    if checklist.signed_off_at is not None:
        raise Conflict(f"农户 {household_id} 的核实清单已包过（签字确认），不能再修改")
    if checklist.responsible_name is None:
        raise DomainError("household_id", "请先由乡镇安排包抓、包核责任人，再逐项核实",
                          "not_assigned", location="path")
    results = await results_of(session, checklist)
    current = results.get(code)
    refuse_if(rules.mark_problems(current.status if current else "pending", mark.status,
                                  mark.note, mark.fix))
    today, now = clock.today(), clock.now()
    before = {"status": current.status, "note": current.note, "fix": current.fix} \
        if current else None
    if current is None:
        current = ItemResult(campaign_id=campaign.id, household_id=household_id, code=code,
                             status=mark.status, checked_by=principal.sub, checked_on=today,
                             updated_at=now)
        results[code] = current
    if mark.status == "fixed":
        current.fix, current.fixed_on = mark.fix.strip(), today
    else:
        current.note = mark.note.strip() if mark.note else None
        current.fix, current.fixed_on = None, None
        current.checked_by, current.checked_on = principal.sub, today
    current.status, current.updated_at = mark.status, now
    session.add(current)
    state = rules.counts(codes, {c: r.status for c, r in results.items()})
    checklist.items_verified, checklist.items_open = state.verified, state.open
    checklist.items_fixed = state.fixed
    if state.complete and not checklist.complete:
        checklist.completed_on = today
    elif not state.complete:
        checklist.completed_on = None
    checklist.complete = state.complete
    session.add(checklist)
    await session.flush()
    await audit.record(session, principal, entity_type="campaign_checklist",
                       entity_id=household_id, action=f"item:{code}", before=before,
                       after={"campaign_id": campaign.id, "code": code, "status": current.status,
                              "note": current.note, "fix": current.fix}, now=now)
    return read_checklist(checklist, campaign, results)


async def sign_off(session: AsyncSession, campaign: Campaign, household_id: str,
                   principal: Principal, clock: Clock) -> ChecklistRead:
    """包过: the township signs a complete checklist off; the township's last one meets its
    deadline."""
    checklist = await get_checklist(session, campaign.id, household_id, principal, lock=True)
    if checklist.signed_off_at is not None:
        raise Conflict(f"农户 {household_id} 的核实清单已于 "
                       f"{checklist.signed_off_at:%Y-%m-%d} 包过")
    if not checklist.complete:
        raise DomainError("household_id",
                          f"核实清单未完成：{len(campaign.items)} 项中 "
                          f"{checklist.items_verified + checklist.items_fixed} 项已核实或整改，"
                          f"{checklist.items_open} 项不符待整改", "incomplete", location="path")
    now = clock.now()
    checklist.signed_off_at, checklist.signed_off_by = now, principal.sub
    session.add(checklist)
    await session.flush()
    left = (await session.execute(select(func.count()).select_from(Checklist).where(
        Checklist.campaign_id == campaign.id, Checklist.township == checklist.township,
        Checklist.signed_off_at.is_(None)))).scalar_one()
    if left == 0:
        await meet_deadline(session, rules.DEADLINE,
                            deadline_subject(campaign.id, checklist.township), clock.today())
    await audit.record(session, principal, entity_type="campaign_checklist",
                       entity_id=household_id, action="sign_off", before=None,
                       after={"campaign_id": campaign.id, "signed_off_at": now.isoformat()},
                       now=now)
    return read_checklist(checklist, campaign, await results_of(session, checklist))


def _count(condition) -> Any:
    return func.sum(case((condition, 1), else_=0)).cast(Integer)


async def progress(session: AsyncSession, campaign: Campaign, principal: Principal,
                   county: County, by: str, township: str | None = None) -> ProgressReport:
    c = Checklist.__table__.c
    keys = [c.township] + ([c.village] if by == "village" else [])
    total_items = len(campaign.items)
    query = select(
        *keys, func.count().label("households"),
        _count(c.responsible_name.is_not(None)).label("assigned"),
        _count(c.items_verified == total_items).label("verified"),
        func.coalesce(func.sum(c.items_open), 0).cast(Integer).label("discrepancies_open"),
        _count(c.items_open > 0).label("households_with_open"),
        _count(c.complete.is_(True)).label("complete"),
        _count(c.signed_off_at.is_not(None)).label("signed_off"),
    ).where(c.campaign_id == campaign.id).group_by(*keys).order_by(*keys)
    query = _scoped(query, principal)
    if township:
        query = query.where(c.township == township)
    rows = []
    for row in (await session.execute(query)).mappings():
        known = county.township(row["township"])
        rows.append(ProgressRow(
            township_name=known.name if known else row["township"],
            **{k: (v or 0) if k not in ("township", "village") else v
               for k, v in row.items()}))
    fields = ("households", "assigned", "verified", "discrepancies_open",
              "households_with_open", "complete", "signed_off")
    total = ProgressRow(township="", township_name="合计",
                        **{f: sum(getattr(r, f) for r in rows) for f in fields})
    return ProgressReport(campaign_id=campaign.id, name=campaign.name, due_on=campaign.due_on,
                          by=by, rows=rows, total=total)

