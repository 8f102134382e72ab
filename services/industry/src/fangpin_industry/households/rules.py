"""Pure rules of household industry assistance (I2): who counts, what is effective, coverage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from fangpin_industry.targets.rules import percent_of


def is_poverty_alleviated(category: str, subcategory: str | None) -> bool:
    """A 脱贫户, also while it is monitored as 脱贫不稳定户 (it stays a 脱贫 household)."""
    return category == "脱贫户" or (category == "监测户" and subcategory == "脱贫不稳定户")


def is_effective(granted_on: date, ends_on: date | None, as_of: date) -> bool:
    """A measure counts from the day it was delivered until it ends (a loan's term)."""
    return granted_on <= as_of and (ends_on is None or ends_on >= as_of)


def industries_problems(industries: Sequence[str]) -> list[tuple[list, str]]:
    problems: list[tuple[list, str]] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(industries):
        cleaned = name.strip()
        if not cleaned or len(cleaned) > 20:
            problems.append((["industries", i], "产业名称须为1至20个字"))
        elif cleaned in seen:
            problems.append((["industries", i], f"与第 {seen[cleaned] + 1} 项重复：{cleaned}"))
        else:
            seen[cleaned] = i
    return problems


def measure_problems(measure_type: str, allowed: Sequence[str], granted_on: date,
                     ends_on: date | None, today: date) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if measure_type not in allowed:
        problems.append(("measure_type",
                         f"未知帮扶措施：{measure_type}（应为{'、'.join(allowed)}之一）"))
    if granted_on > today:
        problems.append(("granted_on", f"落实日期 {granted_on} 晚于今天（{today}）"))
    if ends_on is not None and ends_on < granted_on:
        problems.append(("ends_on", f"有效期止 {ends_on} 早于落实日期 {granted_on}"))
    return problems


def specialty_level(name: str, county_level: Sequence[str],
                    village_level: Sequence[str]) -> str | None:
    if name in county_level:
        return "county"
    if name in village_level:
        return "village"
    return None


@dataclass(frozen=True)
class HouseholdFacts:
    household_id: str
    township: str
    village: str
    industries: tuple[str, ...]
    effective_measures: int


@dataclass
class Tally:
    households: int = 0
    with_specialty_industry: int = 0
    with_assistance: int = 0
    developing_without_measure: int = 0
    gaps: list[str] = field(default_factory=list)

    def specialty_percent(self) -> Decimal | None:
        return percent_of(Decimal(self.with_specialty_industry), Decimal(self.households))

    def assistance_percent(self) -> Decimal | None:
        return percent_of(Decimal(self.with_assistance), Decimal(self.households))


def coverage(households: Iterable[HouseholdFacts], county_level: Sequence[str],
             village_level: Mapping[tuple[str, str], Sequence[str]]) -> dict[str, Tally]:
    """Per township: 脱贫 households, those developing a specialty industry (county list or
    their village's), those with an effective measure, and those developing any industry
    without one (I2: at least one effective measure each)."""
    tallies: dict[str, Tally] = {}
    for h in households:
        t = tallies.setdefault(h.township, Tally())
        t.households += 1
        villages = village_level.get((h.township, h.village), ())
        if any(specialty_level(n, county_level, villages) for n in h.industries):
            t.with_specialty_industry += 1
        if h.effective_measures > 0:
            t.with_assistance += 1
        elif h.industries:
            t.developing_without_measure += 1
            t.gaps.append(h.household_id)
    return tallies


def met(percent: Decimal | None, target: Decimal) -> bool:
    return percent is not None and percent >= target
