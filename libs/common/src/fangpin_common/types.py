"""Bounded input types for every route's parameters and body models.

Unbounded ints, dates and amounts reached the database or `datetime` and came back as 500s
(offsets above 2^63, year 0, amounts of 10^29, `?on=0` read as 1970-01-01). With these types
out-of-range input is a 422 naming the field, checked before any handler runs, and the bounds
are in the OpenAPI schema so clients and fuzzers see them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

# PostgreSQL `integer` is 32-bit: a row id or an offset above it fails in the driver.
MAX_INT32 = 2**31 - 1
# Larger than any county's annual budget in fen (10 billion yuan), far below 2^63.
MAX_FEN = 10**12
MAX_YUAN = Decimal(10**10)
MAX_QUANTITY = Decimal(10**14)

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
# Birth dates of household members: the oldest living residents were born after 1900.
FIRST_BIRTH_DAY = date(1900, 1, 1)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _pattern(first: date, last: date) -> str:
    """The ISO pattern with the range's centuries, so generated dates (clients, fuzzers)
    are mostly in range; the range check itself is exact."""
    centuries = "|".join(str(c) for c in range(first.year // 100, last.year // 100 + 1))
    return rf"^({centuries})\d{{2}}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD (or a date object from Python code): pydantic's lax mode reads `0`
    or `1712700000` as a Unix time and `2024-04-10T00:00` as a date."""
    if isinstance(value, datetime):
        raise PydanticCustomError("date_format", "应为日期，格式 YYYY-MM-DD，如 2024-04-10")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "应为日期，格式 YYYY-MM-DD，如 2024-04-10")


def _within(first: date, last: date) -> Any:
    def check(value: date) -> date:
        if not first <= value <= last:
            raise PydanticCustomError("date_out_of_range", "日期应在 {first} 至 {last} 之间",
                                      {"first": first.isoformat(), "last": last.isoformat()})
        return value
    return AfterValidator(check)


def _date_type(first: date, last: date) -> Any:
    return Annotated[
        date,
        BeforeValidator(_iso_date),
        _within(first, last),
        WithJsonSchema({"type": "string", "format": "date", "pattern": _pattern(first, last),
                        "formatMinimum": first.isoformat(),
                        "formatMaximum": last.isoformat()}),
    ]


# A business date (inclusion, visit, payment, report day …).
Day = _date_type(FIRST_DAY, LAST_DAY)
# A person's birth date.
BirthDate = _date_type(FIRST_BIRTH_DAY, LAST_DAY)

# A row id kept in an integer column (dead letters, anomalies).
RowId = Annotated[int, Ge(1), Le(MAX_INT32)]
# Paging: how many rows to skip; the limit's upper bound is the route's own choice.
Offset = Annotated[int, Ge(0), Le(MAX_INT32)]
# The revision a write is based on (If-Match's number, or `revision` in the body).
Revision = Annotated[int, Ge(1), Le(MAX_INT32)]
Page = Annotated[int, Ge(1), Le(MAX_INT32)]
Limit = Annotated[int, Ge(1), Le(5000)]

Year = Annotated[int, Ge(FIRST_DAY.year), Le(LAST_DAY.year)]
Quarter = Annotated[int, Ge(1), Le(4)]
Month = Annotated[int, Ge(1), Le(12)]
# A count of people, votes, months … that a form asks for.
Count = Annotated[int, Ge(0), Le(MAX_INT32)]

# Money in fen: an amount (a subsidy, a wage, a fund) is never negative.
Fen = Annotated[int, Ge(0), Le(MAX_FEN)]
# Bounds only, where a domain rule refuses the sign with its own message (work records).
SignedFen = Annotated[int, Ge(-MAX_FEN), Le(MAX_FEN)]
Yuan = Annotated[Decimal, Ge(-MAX_YUAN), Le(MAX_YUAN), Field(max_digits=14, decimal_places=2)]
# A measured quantity reported against a target (tonnes, mu, percent …), exact.
Quantity = Annotated[Decimal, Ge(-MAX_QUANTITY), Le(MAX_QUANTITY),
                     Field(max_digits=18, decimal_places=4)]
