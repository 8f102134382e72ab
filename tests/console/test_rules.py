"""Account rules without a server: password policy, lock-out, throttling, units and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fangpin_common.county import load_county
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_common.tokens import unit_principal
from fangpin_console.accounts import rules
from fangpin_console.accounts.passwords import one_time_password
from fangpin_console.accounts.rules import PasswordPolicy, Throttle

POLICY = PasswordPolicy(min_length=10, min_classes=3)
NOW = datetime(2024, 4, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("password", "problem"), [
    ("Short-1a", "至少 10 位"),
    ("alllowercaseletters", "至少 3 类"),
    ("lowercase12345", "至少 3 类"),
    ("Wei.ming-2024", "不能包含用户名"),
    ("P@ssw0rd", "至少 10 位"),
    ("Admin@123", "至少 10 位"),
    ("admin@123", "过于常见"),
])
def test_password_policy_refuses(password, problem):
    problems = rules.password_problems(password, POLICY, username="wei.ming")
    assert any(problem in p for p in problems), problems


def test_password_policy_accepts_and_compares_with_current():
    assert rules.password_problems("Rong'an-Banlan-7", POLICY, "wei.ming") == []
    assert rules.password_problems("Rong'an-Banlan-7", POLICY, "wei.ming",
                                   current="Rong'an-Banlan-7") == ["新密码不能与当前密码相同"]
    # Symbols count as a class, Chinese letters as none: 10 digits and 汉字 are refused.
    assert rules.password_problems("1234567890防贫", POLICY)
    for _ in range(50):
        assert rules.password_problems(one_time_password(), POLICY, "admin") == []


def test_the_nth_failure_locks_and_restarts_the_count():
    attempts, locked_until = 0, None
    for _ in range(4):
        attempts, locked_until = rules.after_failure(attempts, 5, timedelta(minutes=15), NOW)
        assert locked_until is None
    attempts, locked_until = rules.after_failure(attempts, 5, timedelta(minutes=15), NOW)
    assert attempts == 0 and locked_until == NOW + timedelta(minutes=15)
    assert rules.locked(locked_until, NOW + timedelta(minutes=14, seconds=59))
    assert not rules.locked(locked_until, NOW + timedelta(minutes=15))
    assert rules.minutes_left(locked_until, NOW + timedelta(minutes=10, seconds=1)) == 5


def test_throttle_is_a_sliding_window_per_address():
    throttle = Throttle(3, timedelta(seconds=60))
    assert all(throttle.allow("10.0.0.1", t) for t in (0, 1, 2))
    assert not throttle.allow("10.0.0.1", 30)
    assert throttle.allow("10.0.0.2", 30)  # another address is not slowed
    assert throttle.allow("10.0.0.1", 60.5)  # the first attempt left the window


def test_role_and_scope_follow_the_unit():
    county = load_county(COUNTY_CONFIG)
    assert unit_principal(county, "county.rural_revitalisation", "u").role == "county"
    department = unit_principal(county, "county.civil_affairs", "u")
    assert (department.role, department.department) == ("department", "county.civil_affairs")
    township = unit_principal(county, "township.450224103", "u")
    assert (township.role, township.township) == ("township", "450224103")
    with pytest.raises(ValueError):
        unit_principal(county, "county.nowhere", "u")


def test_paired_units_act_in_their_area(tmp_path):
    text = COUNTY_CONFIG.read_text(encoding="utf-8").replace(
        "  - {code: county.civil_affairs,",
        "  - {code: paired.bank, name: 某银行定点帮扶工作队, level: paired, township: '450224103'}\n"
        "  - {code: paired.none, name: 未指定, level: paired}\n"
        "  - {code: county.civil_affairs,", 1)
    path = tmp_path / "county.yaml"
    path.write_text(text, encoding="utf-8")
    county = load_county(path)
    paired = unit_principal(county, "paired.bank", "u")
    assert (paired.role, paired.township, paired.unit) == ("township", "450224103", "paired.bank")
    with pytest.raises(ValueError):
        unit_principal(county, "paired.none", "u")
    assert rules.units_problems(["paired.none"], county)


def test_more_than_one_unit_only_where_the_county_allows():
    combos = [frozenset({"township", "village"})]
    assert rules.units_allowed(["county"], [])
    assert not rules.units_allowed(["township", "village"], [])
    assert rules.units_allowed(["township", "village"], combos)
    assert not rules.units_allowed(["county", "department"], combos)
    assert not rules.units_allowed(["township", "township"], [frozenset({"township"})])
    county = load_county(COUNTY_CONFIG)
    assert rules.units_problems(["township.450224103", "county.civil_affairs"], county) == [
        "本县不允许一人兼任这些单位的角色"]


def test_a_session_ends_when_revoked_past_its_end_or_idle():
    from fangpin_console.sessions import rules as session_rules
    from fangpin_console.sessions.models import Session

    def session(**kw) -> Session:
        return Session(id="s", account_id="a", kind="web", secret_hash="h", csrf_token="c",
                       unit="u", created_at=NOW, last_seen_at=kw.pop("seen", NOW),
                       expires_at=NOW + timedelta(hours=12), **kw)

    idle = timedelta(minutes=120)
    assert session_rules.active(session(), NOW + timedelta(minutes=119), idle)
    assert not session_rules.active(session(), NOW + timedelta(minutes=120), idle)
    assert session_rules.active(session(), NOW + timedelta(hours=11), None)  # API: no idle limit
    assert not session_rules.active(session(), NOW + timedelta(hours=12), None)
    assert not session_rules.active(session(revoked_at=NOW), NOW, idle)
    assert not session_rules.worth_touching(NOW, NOW + timedelta(seconds=59))
    assert session_rules.worth_touching(NOW, NOW + timedelta(seconds=60))
