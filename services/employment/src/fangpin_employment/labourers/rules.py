"""Pure rules: who is a labourer, ages and the working-age window."""

from __future__ import annotations

from datetime import date

from fangpin_employment.vocabulary import POVERTY_CATEGORIES, WITH_CAPACITY


def labourer_status(*, labour_capacity: str, deceased: bool, removed: bool, in_school: bool,
                    household_category: str, included: bool,
                    source: str = "monitoring") -> tuple[bool, str | None]:
    """(active, reason when not). Working age is checked on reading, against a date."""
    if removed:
        return False, "已移出本户"
    if deceased:
        return False, "已故"
    if labour_capacity not in WITH_CAPACITY:
        return False, "无劳动力"
    if in_school:
        return False, "在校学生"
    if source == "county" or included or household_category in POVERTY_CATEGORIES:
        return True, None
    return False, "非脱贫户或监测户"


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February in a year without one
        return on.replace(year=on.year - years, day=28)


def birth_bounds(on: date, working_age: tuple[int, int]) -> tuple[date, date]:
    """(born_after, born_on_or_before): age within [lo, hi] on `on` ⇔ born_after < birth ≤ b."""
    lo, hi = working_age
    latest = _years_before(on, lo)
    # Age hi still counts until the day before the (hi + 1)th birthday.
    return _years_before(on, hi + 1), latest


def is_working_age(birth: date, on: date, working_age: tuple[int, int]) -> bool:
    lo, hi = working_age
    return lo <= age_on(birth, on) <= hi
