"""Pure rules about households and persons: resident ID numbers (GB 11643)."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def resident_id_problem(value: str) -> str | None:
    """Why an 18-digit resident ID is invalid, or None. Staff read the reason (Chinese)."""
    if not _SHAPE.match(value):
        return "身份证号应为18位，前17位为数字，最后一位为数字或X"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return f"身份证号中的出生日期 {value[6:14]} 不是有效日期"
    expected = check_digit(value[:17])
    if value[17] != expected:
        return f"身份证号校验位错误：应为 {expected}，实为 {value[17]}"
    return None


def birth_date_of(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def sex_of(value: str) -> str:
    """The 17th digit: odd for men, even for women."""
    return "男" if int(value[16]) % 2 else "女"


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def member_problems(id_number: str, birth_date: date | None, sex: str | None,
                    today: date) -> list[tuple[str, str]]:
    """(field, reason) for each inconsistency of a member's ID with the stated facts."""
    reason = resident_id_problem(id_number)
    if reason:
        return [("id_number", reason)]
    problems = []
    born = birth_date_of(id_number)
    if born > today:
        problems.append(("id_number", "身份证号中的出生日期晚于今天"))
    if birth_date is not None and birth_date != born:
        problems.append(("birth_date", f"出生日期 {birth_date} 与身份证号中的 {born} 不一致"))
    if sex is not None and sex != sex_of(id_number):
        problems.append(("sex", f"性别 {sex} 与身份证号（{sex_of(id_number)}）不一致"))
    return problems
