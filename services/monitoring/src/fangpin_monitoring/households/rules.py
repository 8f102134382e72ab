"""Pure rules about households and persons: resident ID numbers (GB 11643)."""

from __future__ import annotations

import re
from datetime import date

from fangpin_common.scrub import FULLWIDTH

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_FIRST_GENERATION = re.compile(r"^\d{15}$")
_BLANKS = re.compile(r"[\s\u3000]+")


def normalise_id_number(value: str) -> str:
    """A resident ID as staff type it, in the form it is checked and stored: full-width
    digits and Ｘ (a Chinese input method's) as ASCII, no spaces, X upper-case."""
    return _BLANKS.sub("", value.translate(FULLWIDTH)).upper()


def normalise_digits(value: str) -> str:
    """Full-width digits as ASCII (phones typed with a Chinese input method)."""
    return value.translate(FULLWIDTH).strip()


def first_generation_problem(value: str) -> str | None:
    """A 15-digit first-generation ID (issued until 2004): its own reason, with the 18-digit
    number it converts to (century 19, check digit) for staff to compare with the 户口簿."""
    if not _FIRST_GENERATION.match(value):
        return None
    upgraded = f"{value[:6]}19{value[6:]}"
    upgraded += check_digit(upgraded)
    return ("这是15位的第一代身份证号（已停止使用），请填写18位的第二代居民身份证号；"
            f"按规则换算应为 {upgraded}，请与户口簿核对后填写")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def resident_id_problem(value: str) -> str | None:
    """Why an 18-digit resident ID is invalid, or None. Staff read the reason (Chinese)."""
    if first_generation := first_generation_problem(value):
        return first_generation
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
