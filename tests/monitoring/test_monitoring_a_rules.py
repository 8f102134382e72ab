"""Pure rules of the import, the platform exchange, the change feed and visits: no DB."""

from datetime import UTC, date, datetime

import pytest

from fangpin_monitoring.changes.rules import START, decode_cursor, encode_cursor
from fangpin_monitoring.imports import rules as imports
from fangpin_monitoring.platform import rules as platform
from fangpin_monitoring.visits import rules as visits


def test_cursor_round_trip_and_refusal():
    for position in (START, 17, 9_000_000_000):
        assert decode_cursor(encode_cursor(position)) == position
    assert decode_cursor(None) == START and decode_cursor("") == START
    for bad in ("x", "djI6MToy", encode_cursor(12)[:-2] + "!!", "YzE6LTE"):
        with pytest.raises(ValueError, match="游标无效"):
            decode_cursor(bad)


def test_platform_versions():
    t1, t2 = datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 4, 2, tzinfo=UTC)
    assert platform.outcome((1, t1), "h", None, None) == "create"
    assert platform.outcome((2, t1), "h", (1, t2), "g") == "update"
    assert platform.outcome((1, t2), "h", (2, t1), "g") == "stale"
    assert platform.outcome((1, t2), "h", (1, t1), "g") == "update"  # same version, later time
    assert platform.outcome((1, t1), "h", (1, t1), "h") == "unchanged"
    assert platform.outcome((1, t1), "h", (1, t1), "g") == "conflict"
    assert platform.content_hash({"a": 1, "b": [2]}) == platform.content_hash({"b": [2], "a": 1})


def test_periods_and_month_arithmetic():
    assert visits.parse_period("2024-02") == visits.Period(
        visits.MONTHLY, date(2024, 2, 1), date(2024, 2, 29), "2024-02")
    assert visits.parse_period("2024q1").end == date(2024, 3, 31)
    for bad in ("2024-13", "2024Q2", "April", "1999-01"):
        with pytest.raises(ValueError):
            visits.parse_period(bad)
    assert visits.months_to_open(date(2024, 12, 31)) == [date(2024, 12, 1), date(2025, 1, 1)]
    assert visits.monthly_subject("h", date(2024, 5, 1)) == "h:2024-05"
    assert visits.risk_problem(True, [])[0] == "risk_types"
    assert visits.risk_problem(False, ["因病"])[0] == "risk_found"
    assert visits.risk_problem(True, ["因病"]) is None
    assert visits.rate(2, 3) == 0.6667 and visits.rate(0, 0) is None


def test_template_columns_and_cells():
    assert [imports.column_letter(i) for i in (0, 12, 25, 26, 701)] == ["A", "M", "Z", "AA", "ZZ"]
    assert imports.normalise_header(" *村(社区) ") == "村（社区）"
    layout = imports.layout_of(tuple(c.header for c in imports.COLUMNS) + ("备注",))
    assert layout.ignored == ("备注",)
    assert layout.letter(imports.MEMBER_BY_FIELD["id_number"]) == "M"
    with pytest.raises(imports.HeaderProblem, match="姓名"):
        imports.layout_of(("户编号", "乡镇"))
    date_column = imports.MEMBER_BY_FIELD["birth_date"]
    for text in ("1980-01-02", "1980/1/2", "1980.01.02", "19800102", "1980-01-02 00:00:00"):
        assert imports.parse_cell(date_column, text) == date(1980, 1, 2)
    with pytest.raises(imports.CellProblem):
        imports.parse_cell(date_column, "1980-02-30")
    id_column = imports.MEMBER_BY_FIELD["id_number"]
    with pytest.raises(imports.CellProblem, match="文本格式"):
        imports.parse_cell(id_column, 450224198001011234)
    assert imports.parse_cell(id_column, " 11010519491231002x ") == "11010519491231002X"
    school = imports.MEMBER_BY_FIELD["in_school"]
    assert [imports.parse_cell(school, v) for v in ("是", "否", None, True)] == [
        True, False, None, True]
    assert imports.category_problem("监测户", None)
    assert imports.category_problem("脱贫户", "边缘易致贫户")
    assert imports.category_problem("监测户", "边缘易致贫户") is None
