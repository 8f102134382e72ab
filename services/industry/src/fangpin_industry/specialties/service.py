"""Village specialty lists applied to the database. Never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import DomainError
from fangpin_industry.access import ensure_reach, sees_all
from fangpin_industry.config import IndustryConfig
from fangpin_industry.specialties import rules
from fangpin_industry.specialties.models import (
    SpecialtyList,
    VillageSpecialty,
    VillageSpecialtyRead,
    VillageSpecialtyUpdate,
)


def resolve_township(county: County, value: str, field: str | Sequence = "township",
                     location: str = "body") -> str:
    township = county.township(value)
    if township is None:
        raise DomainError(field, f"未知乡镇：{value}（应为本县{len(county.townships)}个乡镇之一）",
                          "unknown_township", location=location)
    return township.code


async def set_village_list(session: AsyncSession, township: str, village: str,
                           data: VillageSpecialtyUpdate, principal: Principal, county: County,
                           config: IndustryConfig, clock: Clock) -> VillageSpecialty:
    code = resolve_township(county, township, "township", location="path")
    ensure_reach(principal, config, code, village)
    names = [n.strip() for n in data.industries]
    for field, message in rules.village_list_problems(
            names, config.specialty_industries.max_village_level):
        raise DomainError(field, message, "invalid_specialty_list")
    now = clock.now()
    row = await session.get(VillageSpecialty, (code, village))
    before = row.model_dump(mode="json") if row else None
    if row is None:
        row = VillageSpecialty(township=code, village=village, industries=names,
                               updated_by=principal.sub, updated_at=now)
    else:
        row.industries, row.updated_by, row.updated_at = names, principal.sub, now
    session.add(row)
    await session.flush()
    await audit.record(session, principal, entity_type="village_specialty",
                       entity_id=f"{code}/{village}"[:64], action="set", before=before,
                       after=row.model_dump(mode="json"), now=now)
    return row


async def village_lists(session: AsyncSession) -> dict[tuple[str, str], list[str]]:
    rows = (await session.exec(select(VillageSpecialty))).all()
    return {(r.township, r.village): list(r.industries) for r in rows}


async def specialty_list(session: AsyncSession, principal: Principal,
                         config: IndustryConfig) -> SpecialtyList:
    query = select(VillageSpecialty).order_by(VillageSpecialty.township, VillageSpecialty.village)
    if not sees_all(principal, config):
        if principal.role == "village":
            query = query.where(VillageSpecialty.village == principal.village)
        query = query.where(VillageSpecialty.township == principal.township)
    s = config.specialty_industries
    return SpecialtyList(county_level=s.county_level, leading=s.leading,
                         max_county_level=s.max_county_level,
                         max_village_level=s.max_village_level,
                         villages=[VillageSpecialtyRead(**r.model_dump())
                                   for r in (await session.exec(query)).all()])
