"""Pure rules: no server, no database."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from fangpin_common.auth import Principal, mask_id_number, mask_phone
from fangpin_common.clock import SettableClock
from fangpin_common.deadlines import DeadlineRule, status_on
from fangpin_common.events import parse_event
from fangpin_common.events.monitoring import CaseOpened, CaseOpenedData
from fangpin_monitoring.households import rules


def test_check_digit_of_a_known_id():
    # GB 11643 example: 11010519491231002X
    assert rules.check_digit("11010519491231002") == "X"
    assert rules.resident_id_problem("11010519491231002X") is None


@pytest.mark.parametrize("value, fragment", [
    ("11010519491231002", "18位"),
    ("110105194912310021", "校验位错误"),
    ("110105194913310029", "不是有效日期"),
    ("11010519491231002Y", "18位"),
])
def test_bad_resident_ids_say_why(value, fragment):
    assert fragment in rules.resident_id_problem(value)


def test_member_facts_must_match_the_id():
    problems = rules.member_problems("11010519491231002X", date(1950, 1, 1), "男", date(2024, 1, 1))
    assert [field for field, _ in problems] == ["birth_date", "sex"]
    assert rules.member_problems("11010519491231002X", date(1949, 12, 31), "女",
                                 date(2024, 1, 1)) == []


def test_age_and_sex_from_the_id():
    assert rules.sex_of("11010519491231002X") == "女"
    assert rules.age_on(date(1949, 12, 31), date(2024, 12, 30)) == 74
    assert rules.age_on(date(1949, 12, 31), date(2024, 12, 31)) == 75


def test_deadline_rule_counts_days_from_the_start():
    rule = DeadlineRule("case.helper", 5, warn_days=1)
    assert rule.due_on(date(2024, 4, 1)) == date(2024, 4, 6)
    assert status_on(date(2024, 4, 6), date(2024, 4, 6)) == "open"
    assert status_on(date(2024, 4, 6), date(2024, 4, 7)) == "overdue"
    assert status_on(date(2024, 4, 6), date(2024, 4, 9), met_on=date(2024, 4, 8)) == "met_late"


def test_business_date_is_shanghai_time():
    clock = SettableClock(datetime(2024, 3, 31, 17, 30, tzinfo=UTC))  # 01:30 on 1 April there
    assert clock.today() == date(2024, 4, 1)


def test_events_round_trip_through_the_union():
    event = CaseOpened(subject="c1", data=CaseOpenedData(
        case_id="c1", household_id="h1", township="450224103", village="v", category="边缘易致贫户",
        risk_types=["因病"], inclusion_date=date(2024, 4, 1)))
    parsed = parse_event(event.to_json())
    assert isinstance(parsed, CaseOpened) and parsed == event
    assert event.source == "/fangpin/monitoring"
    assert event.dataschema == "urn:fangpin:event:fangpin.monitoring.case.opened:v1"
    with pytest.raises(ValidationError):
        parse_event(b'{"type": "fangpin.nothing", "data": {}}')


def test_payloads_carry_no_identity_numbers():
    from fangpin_common.events import registered

    for cls in registered().values():
        schema = str(cls.model_json_schema())
        assert "id_number" not in schema and "phone" not in schema, cls.__name__


def test_masking_and_scope():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_phone("13800001234") == "138****1234"
    township = Principal(sub="u", role="township", township="450224103")
    assert township.can_reach("450224103", "any") and not township.can_reach("450224100")
    village = Principal(sub="u", role="village", township="450224103", village="v1")
    assert village.can_reach("450224103", "v1") and not village.can_reach("450224103", "v2")
    assert not Principal(sub="d", role="department").can_reach("450224103")
