"""The bounded input types, and that every service's inputs use bounded types: no integer or
number without a minimum and a maximum, no date without its strict pattern, in any parameter
or request body of the four services' OpenAPI documents."""

from __future__ import annotations

import importlib
from datetime import date
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from fangpin_common.types import BirthDate, Day, Fen, Offset, Quantity, RowId, Year

SERVICES = ("monitoring", "employment", "industry", "notifications")


def refused(kind, value) -> str:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(kind).validate_python(value)
    return info.value.errors()[0]["type"]


def test_dates_are_strict_iso_within_the_business_range():
    assert TypeAdapter(Day).validate_python("2024-04-10") == date(2024, 4, 10)
    for value in ("0", 0, 1712700000, "20240410", "2024-04-10T00:00:00", "2024-4-10"):
        assert refused(Day, value) == "date_format", value
    for value in ("1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31"):
        assert refused(Day, value) == "date_out_of_range", value
    assert refused(Day, "0000-01-01") == "date_parsing"  # year 0: a 422, not a 500
    assert refused(Day, "2024-02-30") == "date_from_datetime_parsing"
    assert TypeAdapter(BirthDate).validate_python("1921-07-01") == date(1921, 7, 1)
    assert refused(BirthDate, "1899-12-31") == "date_out_of_range"


def test_numbers_stop_before_the_database_or_datetime_overflows():
    assert refused(Offset, 2**63) == "less_than_equal"
    assert refused(Offset, -1) == "greater_than_equal"
    assert refused(RowId, 2**31) == "less_than_equal"
    assert refused(Year, 0) == "greater_than_equal"
    assert refused(Year, 10118) == "less_than_equal"
    assert refused(Fen, 10**29) == "less_than_equal"
    assert refused(Fen, -1) == "greater_than_equal"
    assert refused(Quantity, "1e30") in ("less_than_equal", "decimal_max_digits")
    assert refused(Quantity, "NaN") in ("finite_number", "decimal_parsing")
    assert TypeAdapter(Quantity).validate_python("1234.5678") == Decimal("1234.5678")


def unbounded(schema: dict, components: dict, where: str, seen: frozenset = frozenset()):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from unbounded(components[name], components, where, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            yield from unbounded(option, components, where, seen)
    if schema.get("type") in ("integer", "number"):
        low = "minimum" in schema or "exclusiveMinimum" in schema
        high = "maximum" in schema or "exclusiveMaximum" in schema
        if not (low and high):
            yield where
    if schema.get("type") == "string" and schema.get("format") in ("date", "date-time") \
            and "pattern" not in schema:
        yield where
    for name, prop in schema.get("properties", {}).items():
        yield from unbounded(prop, components, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from unbounded(schema["items"], components, f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from unbounded(schema["additionalProperties"], components, f"{where}{{}}", seen)


@pytest.mark.parametrize("service", SERVICES)
def test_every_input_of_every_route_is_bounded(service):
    app = importlib.import_module(f"fangpin_{service}.main").create_app()
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                where = f"{method.upper()} {path} {param['in']}:{param['name']}"
                found.extend(unbounded(param["schema"], components, where))
            for content in op.get("requestBody", {}).get("content", {}).values():
                found.extend(unbounded(content.get("schema", {}), components,
                                       f"{method.upper()} {path} body"))
    assert not found, "inputs without bounds (use fangpin_common.types):\n" + "\n".join(found)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_declares_the_shared_error_answers(service):
    app = importlib.import_module(f"fangpin_{service}.main").create_app()
    spec = app.openapi()
    missing = [f"{method.upper()} {path}: {code}"
               for path, operations in spec["paths"].items()
               for method, op in operations.items()
               for code in ("401", "403", "404", "409", "412", "413", "422")
               if code not in op["responses"]]
    assert not missing, missing
    posts = [op for item in spec["paths"].values() for m, op in item.items() if m == "post"]
    assert posts and all(any(p["name"] == "Idempotency-Key" for p in op["parameters"])
                         for op in posts)
