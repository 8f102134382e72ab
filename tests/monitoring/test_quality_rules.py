"""Pure rules of data quality (M10): catalogue, phones, dates, schedule, configuration."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from fangpin_common.county import ConfigError, load_county
from fangpin_common.events.monitoring import AnomaliesAssignedData, QualityAnomaliesAssigned
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_monitoring.quality import rules
from fangpin_monitoring.quality.checks import QUERIES, SCANS
from fangpin_notifications.routing.rules import load_rules, render, resolve_recipients

DOC = Path(__file__).resolve().parents[2] / "services/monitoring/docs/data-quality.md"


def test_catalogue_is_complete_and_documented():
    assert len(rules.RULES) >= 15
    assert set(QUERIES) | set(SCANS) == set(rules.CODES)
    assert not set(QUERIES) & set(SCANS)
    documented = set(re.findall(r"^\| (Q\d\d) \|", DOC.read_text(encoding="utf-8"), re.M))
    assert documented == set(rules.CODES)
    for rule in rules.RULES:
        assert rule.level in rules.LEVEL_NAMES and rule.title and len(rule.explanation) > 10


@pytest.mark.parametrize("phone, ok", [
    ("13800138000", True), ("138 0013 8000", True), ("0772-8123456", True),
    ("07728123456", True), ("12345", False), ("12800138000", False), ("1380013800a", False),
    ("138001380001", False), ("772-8123456", False)])
def test_phone_shapes(phone, ok):
    assert (rules.phone_problem(phone) is None) is ok


def test_unknown_codes_and_reasons():
    assert rules.unknown_codes(["Q01", "Q1", "Q20", "X"]) == [(1, "Q1"), (3, "X")]
    assert rules.reason_problem("  一二三四 ") is not None
    assert rules.reason_problem("一二三四五") is None


def test_labour_age_bounds():
    young, old = rules.labour_birth_bounds(date(2024, 4, 10))
    assert (young, old) == (date(2008, 4, 10), date(1953, 4, 10))
    # Born after `young` → under 16; on or before `old` → older than 70.
    assert rules.labour_birth_bounds(date(2024, 2, 29)) == (date(2008, 2, 29), date(1953, 2, 28))


@pytest.mark.parametrize("today, window", [
    (date(2024, 4, 10), (date(2024, 1, 1), date(2024, 3, 31))),
    (date(2024, 5, 1), (date(2024, 4, 1), date(2024, 5, 1))),
    (date(2024, 3, 31), (date(2024, 1, 1), date(2024, 3, 31))),
    (date(2024, 1, 2), (date(2023, 10, 1), date(2023, 12, 31))),
])
def test_visit_window(today, window):
    assert rules.visit_window(today) == window


@pytest.mark.parametrize("today, slot", [
    (date(2024, 4, 1), date(2024, 4, 1)), (date(2024, 4, 10), date(2024, 4, 1)),
    (date(2024, 4, 11), date(2024, 4, 11)), (date(2024, 4, 30), date(2024, 4, 21)),
    (date(2024, 3, 1), date(2024, 3, 1))])
def test_latest_slot(today, slot):
    assert rules.latest_slot([1, 11, 21], today) == slot


def test_latest_slot_before_the_first_run_day_is_last_months():
    assert rules.latest_slot([5, 15, 25], date(2024, 3, 2)) == date(2024, 2, 25)


def _county_with(tmp_path: Path, section: str) -> tuple[Path, int]:
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    before = text.split("quality:\n")[0]
    after = text.split("quality:\n")[1].split("\n", 1)[1]
    path = tmp_path / "county.yaml"
    path.write_text(before + section + after, encoding="utf-8")
    return path, before.count("\n") + 2


@pytest.mark.parametrize("days, message", [
    ("[1, 11, 40]", "between 1 and 28"), ("[1, 11, 11]", "unique"),
    ("[1, 15]", "at least 3")])
def test_bad_schedule_is_refused_naming_the_line(tmp_path, days, message):
    path, line = _county_with(tmp_path, f"quality:\n  run_days: {days}\n")
    with pytest.raises(ConfigError) as error:
        load_county(path)
    assert f":{line}: quality" in str(error.value) and message in str(error.value)


def test_schedule_from_the_county_file():
    assert load_county(COUNTY_CONFIG).quality.run_days == [1, 11, 21]


def test_townships_are_told_of_their_anomalies():
    county = load_county(COUNTY_CONFIG)
    ruleset = load_rules(county, COUNTY_CONFIG.read_text(encoding="utf-8"))
    event = QualityAnomaliesAssigned(data=AnomaliesAssignedData(
        run_id="r1", township="450224103", business_date=date(2024, 4, 11), open_count=7,
        new_count=2, counts_by_rule={"Q01": 7},
        link="/api/v1/quality/anomalies?township=450224103&status=open"))
    [rule] = ruleset.matching(event.type, event.data.model_dump())
    assert resolve_recipients(rule, event.data.model_dump(), county) == ["township.450224103"]
    text = render(rule.template, event, county)
    assert "板榄镇有 7 条数据问题待整改（本次新发现 2 条）" in text
    assert "/api/v1/quality/anomalies?township=450224103&status=open" in text
