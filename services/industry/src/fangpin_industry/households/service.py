"""Household industry assistance applied to the database. Never commits."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import DomainError, NotFound
from fangpin_common.events.monitoring import HouseholdUpserted
from fangpin_common.ids import new_id
from fangpin_industry.access import ensure_reach, sees_all
from fangpin_industry.config import IndustryConfig
from fangpin_industry.households import rules
from fangpin_industry.households.events import measure_recorded
from fangpin_industry.households.models import (
    CoverageFigures,
    CoverageReport,
    GapRead,
    HouseholdIndustry,
    HouseholdIndustryRead,
    HouseholdView,
    IndustryItem,
    IndustryUpdate,
    Measure,
    MeasureCreate,
    MeasureRead,
)
from fangpin_industry.projects.models import Project
from fangpin_industry.specialties.service import village_lists
from fangpin_industry.sql import insert_if_absent


# -- the read model ------------------------------------------------------------------------
async def apply_household_upserted(session: AsyncSession, event: HouseholdUpserted) -> None:
    """Keep the newest revision; an older one arriving late changes nothing."""
    d = event.data
    values = dict(township=d.township, village=d.village, category=d.category,
                  monitoring_subcategory=d.monitoring_subcategory, head_name=d.head_name[:50],
                  people=sum(1 for m in d.members if not m.deceased), revision=d.revision,
                  updated_at=event.time)
    table = HouseholdView.__table__
    if await insert_if_absent(session, table, {"id": d.household_id, **values}, ("id",)):
        return
    await session.execute(update(table).where(table.c.id == d.household_id,
                                              table.c.revision < d.revision).values(**values))


# -- records ---------------------------------------------------------------------------------
async def get_household(session: AsyncSession, household_id: str, principal: Principal,
                        config: IndustryConfig) -> HouseholdView:
    household = await session.get(HouseholdView, household_id)
    if household is None:
        raise NotFound(f"农户 {household_id} 尚未从监测系统同步到产业帮扶")
    ensure_reach(principal, config, household.township, household.village)
    return household


def _require_poverty_alleviated(household: HouseholdView) -> None:
    if not rules.is_poverty_alleviated(household.category, household.monitoring_subcategory):
        sub = household.monitoring_subcategory
        kind = household.category + (f"（{sub}）" if sub else "")
        raise DomainError("household_id", f"农户 {household.id} 是{kind}，到户产业帮扶只登记脱贫户",
                          "not_poverty_alleviated", location="path")


async def set_industries(session: AsyncSession, household_id: str, data: IndustryUpdate,
                         principal: Principal, config: IndustryConfig,
                         clock: Clock) -> HouseholdView:
    household = await get_household(session, household_id, principal, config)
    _require_poverty_alleviated(household)
    for field, message in rules.industries_problems(data.industries):
        raise DomainError(field, message, "invalid_industry")
    names = [n.strip() for n in data.industries]
    now = clock.now()
    row = await session.get(HouseholdIndustry, household.id)
    before = row.model_dump(mode="json") if row else None
    if row is None:
        row = HouseholdIndustry(household_id=household.id, industries=names,
                                updated_by=principal.sub, updated_at=now)
    else:
        row.industries, row.updated_by, row.updated_at = names, principal.sub, now
    session.add(row)
    await session.flush()
    await audit.record(session, principal, entity_type="household_industry",
                       entity_id=household.id, action="set", before=before,
                       after=row.model_dump(mode="json"), now=now)
    return household


async def record_measure(session: AsyncSession, household_id: str, data: MeasureCreate,
                         principal: Principal, config: IndustryConfig, clock: Clock) -> Measure:
    household = await get_household(session, household_id, principal, config)
    _require_poverty_alleviated(household)
    for field, message in rules.measure_problems(data.measure_type, config.measure_types,
                                                 data.granted_on, data.ends_on, clock.today()):
        raise DomainError(field, message, "invalid_measure")
    if data.project_id is not None and await session.get(Project, data.project_id) is None:
        raise DomainError("project_id", f"项目库中没有项目 {data.project_id}", "unknown_project")
    now = clock.now()
    measure = Measure(id=new_id(), household_id=household.id, recorded_by=principal.sub,
                      created_at=now, **data.model_dump())
    session.add(measure)
    await session.flush()
    await audit.record(session, principal, entity_type="household_industry",
                       entity_id=household.id, action="measure", before=None,
                       after=measure.model_dump(mode="json"), now=now)
    await outbox.emit(session, measure_recorded(household, measure, now))
    return measure


async def read_household(session: AsyncSession, household: HouseholdView,
                         config: IndustryConfig, today: date) -> HouseholdIndustryRead:
    row = await session.get(HouseholdIndustry, household.id)
    measures = (await session.exec(select(Measure).where(Measure.household_id == household.id)
                                   .order_by(Measure.granted_on, Measure.id))).all()
    villages = (await village_lists(session)).get((household.township, household.village), [])
    county_level = config.specialty_industries.county_level
    items = [IndustryItem(name=n, specialty_level=rules.specialty_level(n, county_level, villages))
             for n in (row.industries if row else [])]
    reads = [MeasureRead(**m.model_dump(), effective=rules.is_effective(m.granted_on, m.ends_on,
                                                                        today))
             for m in measures]
    return HouseholdIndustryRead(
        household_id=household.id, township=household.township, village=household.village,
        category=household.category, monitoring_subcategory=household.monitoring_subcategory,
        head_name=household.head_name,
        poverty_alleviated=rules.is_poverty_alleviated(household.category,
                                                       household.monitoring_subcategory),
        industries=items, develops_specialty_industry=any(i.specialty_level for i in items),
        measures=reads, effective_measures=sum(1 for m in reads if m.effective))


# -- coverage --------------------------------------------------------------------------------
async def _facts(session: AsyncSession, principal: Principal, config: IndustryConfig,
                 township: str | None, as_of: date) -> list[rules.HouseholdFacts]:
    query = select(HouseholdView, HouseholdIndustry.industries).outerjoin(
        HouseholdIndustry, HouseholdIndustry.household_id == HouseholdView.id)
    if not sees_all(principal, config):
        query = query.where(HouseholdView.township == principal.township)
        if principal.role == "village":
            query = query.where(HouseholdView.village == principal.village)
    if township:
        query = query.where(HouseholdView.township == township)
    measures = select(Measure.household_id).where(
        Measure.granted_on <= as_of, (Measure.ends_on.is_(None)) | (Measure.ends_on >= as_of))
    effective = Counter((await session.exec(measures)).all())
    facts = []
    for household, industries in (await session.exec(query)).all():
        if rules.is_poverty_alleviated(household.category, household.monitoring_subcategory):
            facts.append(rules.HouseholdFacts(
                household_id=household.id, township=household.township,
                village=household.village, industries=tuple(industries or ()),
                effective_measures=effective.get(household.id, 0)))
    return facts


def _figures(code: str, name: str, tally: rules.Tally, config: IndustryConfig) -> CoverageFigures:
    goals = config.household_coverage
    specialty, assistance = tally.specialty_percent(), tally.assistance_percent()
    return CoverageFigures(
        township=code, township_name=name, households=tally.households,
        with_specialty_industry=tally.with_specialty_industry,
        specialty_industry_percent=specialty,
        specialty_industry_met=rules.met(specialty, goals.specialty_industry_percent),
        with_assistance=tally.with_assistance, assistance_percent=assistance,
        assistance_met=rules.met(assistance, goals.assistance_percent),
        developing_without_measure=tally.developing_without_measure)


async def coverage(session: AsyncSession, principal: Principal, county: County,
                   config: IndustryConfig, township: str | None, as_of: date) -> CoverageReport:
    facts = await _facts(session, principal, config, township, as_of)
    tallies = rules.coverage(facts, config.specialty_industries.county_level,
                             await village_lists(session))
    shown = [t for t in county.townships
             if (township is None or t.code == township)
             and (sees_all(principal, config) or t.code == principal.township)]
    rows = [_figures(t.code, t.name, tallies.get(t.code, rules.Tally()), config) for t in shown]
    total = rules.Tally()
    for t in shown:
        part = tallies.get(t.code, rules.Tally())
        total.households += part.households
        total.with_specialty_industry += part.with_specialty_industry
        total.with_assistance += part.with_assistance
        total.developing_without_measure += part.developing_without_measure
    return CoverageReport(
        as_of=as_of,
        specialty_industry_target_percent=config.household_coverage.specialty_industry_percent,
        assistance_target_percent=config.household_coverage.assistance_percent,
        townships=rows, total=_figures("", "合计", total, config))


async def gaps(session: AsyncSession, principal: Principal, county: County,
               config: IndustryConfig, township: str | None, as_of: date) -> list[GapRead]:
    """脱贫 households developing an industry without any effective measure (I2)."""
    facts = await _facts(session, principal, config, township, as_of)
    missing = [f for f in facts if f.industries and f.effective_measures == 0]
    names = {h.id: h.head_name for h in (await session.exec(select(HouseholdView).where(
        HouseholdView.id.in_([f.household_id for f in missing])))).all()} if missing else {}
    return [GapRead(household_id=f.household_id, township=f.township, village=f.village,
                    head_name=names.get(f.household_id, ""), industries=list(f.industries))
            for f in sorted(missing, key=lambda f: (f.township, f.village, f.household_id))]
