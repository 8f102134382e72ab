"""Pure rules of the notifications service: no server, no database."""

import base64
import hashlib
import hmac
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote_plus

import pytest

from fangpin_common.county import ConfigError, load_county
from fangpin_common.events import DeadlineData, registered
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_notifications.channels.ratelimit import TokenBucket
from fangpin_notifications.channels.robots import dingtalk_sign, dingtalk_url
from fangpin_notifications.channels.sms import fill
from fangpin_notifications.channels.webhook import signature, verify
from fangpin_notifications.deliveries.rules import after_failure, quiet_until, retry_delay
from fangpin_notifications.digest.rules import compose, digest_id, due_day
from fangpin_notifications.directory.rules import check_seed, parent_problem
from fangpin_notifications.routing.rules import (
    data_model,
    load_rules,
    render,
    resolve_recipients,
)
from fangpin_notifications.settings import ChannelPolicy


def default_rules():
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    return load_rules(load_county(COUNTY_CONFIG), text)


def test_every_due_soon_and_overdue_event_has_a_rule_out_of_the_box():
    rules = default_rules()
    deadline_events = [t for t, cls in registered().items()
                       if t.endswith(("_due_soon", "_overdue"))
                       or (data_model(cls) is not None and issubclass(data_model(cls), DeadlineData))]
    assert "fangpin.monitoring.case.helper_overdue" in deadline_events
    for event_type in deadline_events:
        assert rules.for_type(event_type), f"no routing rule for {event_type}"
    # The catalogue's own deadline events have rules of their own, not the fallback.
    for event_type in ("fangpin.monitoring.case.helper_due_soon",
                       "fangpin.monitoring.case.plan_overdue"):
        assert [r.name for r in rules.for_type(event_type)] == [event_type]
    # A deadline event added to the catalogue is covered by the fallback until it gets its own
    # rule: the fallback applies to every matching type whose data has the rule's fields.
    assert "fangpin.monitoring.case.helper_overdue" in rules.pattern_types["deadline-overdue"]


def test_a_pattern_applies_to_the_types_its_fields_fit(tmp_path):
    county, text = county_with_routing(tmp_path, """routing:
  - id: any-case
    event: "fangpin.monitoring.case.*"
    recipients: [township]
    template: "{household_id} 于 {inclusion_date}"
""")
    rules = load_rules(county, text)
    assert [r.name for r in rules.for_type("fangpin.monitoring.case.opened")] == ["any-case"]
    assert rules.for_type("fangpin.monitoring.case.helper_assigned") == []
    county, text = county_with_routing(tmp_path, """routing:
  - event: "fangpin.monitoring.case.*"
    recipients: [township]
    template: "{no_such_field}"
""")
    with pytest.raises(ConfigError, match="matches no event type whose data has"):
        load_rules(county, text)


def county_with_routing(tmp_path: Path, routing_yaml: str, units_yaml: str = "") -> tuple:
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    text = text[: text.index("routing:")] + routing_yaml
    if units_yaml:
        text = text.replace("units:\n", "units:\n" + units_yaml, 1)
    path = tmp_path / "county.yaml"
    path.write_text(text, encoding="utf-8")
    return load_county(path), text


def line_of(text: str, fragment: str) -> int:
    """The last line holding the fragment (the documentation above the rules may name it)."""
    return max(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


BAD = [
    ("event: fangpin.monitoring.case.nothing", "unknown event type", "case.nothing"),
    ('template: "户编号 {household_id}，负责人 {helper_phone}"', "no field 'helper_phone'",
     "helper_phone"),
    ("recipients: [township, county.nowhere]", "unreachable unit 'county.nowhere'",
     "county.nowhere"),
    ("recipients: [helper_unit]", None, None),  # deadline context may carry it: accepted
    ("channels: [inbox, pigeon]", "unknown channel 'pigeon'", "pigeon"),
    ("when: {risk_types: [因病]}", "no field 'risk_types'", "risk_types"),
    ("when: {township: [不存在镇]}", "unknown township", "不存在镇"),
    ("escalate: {after_hours: 0}", "greater than 0", "after_hours"),
    ('title: "{due_on"', "not a valid template", "title"),
]


@pytest.mark.parametrize("line, message, fragment", BAD)
def test_bad_rules_are_refused_naming_the_line(tmp_path, line, message, fragment):
    key = line.split(":")[0]
    rule = {"event": "event: fangpin.monitoring.case.helper_overdue",
            "recipients": "recipients: [township]", "channels": "channels: [inbox]",
            "template": 'template: "户编号 {household_id}"'}
    rule[key] = line
    body = "\n".join(f"    {v}" if i else f"  - {v}" for i, v in enumerate(rule.values()))
    county, text = county_with_routing(tmp_path, "routing:\n" + body + "\n")
    if message is None:
        load_rules(county, text)
        return
    with pytest.raises(ConfigError) as err:
        load_rules(county, text)
    assert message in str(err.value)
    assert f"line {line_of(text, fragment)}:" in str(err.value), str(err.value)


def test_escalation_needs_an_inbox_and_conditions_need_fields(tmp_path):
    county, text = county_with_routing(tmp_path, """routing:
  - event: fangpin.monitoring.case.opened
    recipients: [lead_unit]
    channels: [email]
    template: "x"
    escalate: {after_hours: 4}
""")
    with pytest.raises(ConfigError) as err:
        load_rules(county, text)
    message = str(err.value)
    assert "has no field 'lead_unit'" in message and "needs the inbox channel" in message
    assert f"line {line_of(text, 'escalate:')}:" in message


def test_bad_directory_seed_is_refused_naming_the_line(tmp_path):
    county, text = county_with_routing(
        tmp_path, "routing: []\n",
        "  - {code: paired.bank, name: 农商银行, level: paired, email: not-mail,"
        " parent: paired.bank}\n"
        "  - {code: paired.school, name: 中学, level: paired,\n"
        "     people: [{name: 李老师, mobile: '110'}]}\n")
    with pytest.raises(ConfigError) as err:
        check_seed(county, text)
    message = str(err.value)
    assert f"line {line_of(text, 'not-mail')}: units[0].email" in message
    assert "units[0].parent: unreachable unit" in message
    assert f"line {line_of(text, '李老师')}: units[1].people[0].mobile" in message


def test_an_unreachable_responsible_unit_is_refused(tmp_path):
    _, text = county_with_routing(tmp_path, "routing: []\n")
    text = text.replace("responsible: township}", "responsible: county.ghost}", 1)
    path = tmp_path / "county2.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(load_county(path), text)
    assert "deadlines.case.helper.responsible" in str(err.value)
    assert f"line {line_of(text, 'county.ghost')}:" in str(err.value)


def test_conditions_recipients_and_texts(tmp_path):
    county, text = county_with_routing(tmp_path, """routing:
  - id: changan-illness
    event: fangpin.monitoring.case.opened
    when: {township: [长安镇], risk_type: [因病, 因残]}
    recipients: [village, township, county, county.health]
    template: "{township_name}{village}：{risk_types}（{unit_name}）{previous_case_id}"
  - id: deadline-helper
    event: fangpin.monitoring.case.helper_overdue
    when: {kind: case.helper}
    recipients: [responsible, helper_unit, field:lead_unit]
    template: "{context[lead_unit]} {context[missing]}"
""")
    rules = load_rules(county, text)
    opened = {"township": "450224100", "village": "城南村", "risk_types": ["因学", "因病"],
              "household_id": "h", "previous_case_id": None}
    [rule] = rules.matching("fangpin.monitoring.case.opened", opened)
    assert resolve_recipients(rule, opened, county) == [
        "village.城南村", "township.450224100", "county.rural_revitalisation", "county.health"]
    assert rules.matching("fangpin.monitoring.case.opened",
                          opened | {"risk_types": ["因学"]}) == []
    assert rules.matching("fangpin.monitoring.case.opened", opened | {"township": "450224103"}) == []
    from fangpin_common.events.monitoring import CaseHelperOverdue, CaseOpened, CaseOpenedData

    event = CaseOpened(data=CaseOpenedData(case_id="c", household_id="h", township="450224100",
                                           village="城南村", category="x", risk_types=["因病"],
                                           inclusion_date=date(2024, 4, 1)))
    assert render(rule.template, event, county, "县卫生健康局") == "长安镇城南村：因病（县卫生健康局）—"

    data = {"kind": "case.helper", "township": "450224103",
            "context": {"helper_unit": "county.agriculture", "lead_unit": "county.forestry"}}
    [rule] = rules.matching(CaseHelperOverdue.event_type(), data)
    assert resolve_recipients(rule, data, county) == [
        "township.450224103", "county.agriculture", "county.forestry"]
    assert resolve_recipients(rule, {"kind": "case.helper"}, county) == []


def test_delivery_rules():
    policy = ChannelPolicy(backoff_base_seconds=2, backoff_max_seconds=30, max_attempts=3)
    assert [retry_delay(a, policy, rand=1.0) for a in (1, 2, 3, 6)] == [2, 4, 8, 30]
    assert retry_delay(2, policy, rand=0.0) == 2  # jitter: half to all of it
    assert after_failure(1, False, policy) == "retry"
    assert after_failure(3, False, policy) == "dead"
    assert after_failure(1, True, policy) == "dead"
    night = (time(22), time(8))
    at = datetime(2024, 4, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert quiet_until(at, night) == datetime(2024, 4, 11, 0, 0, tzinfo=UTC)  # 08:00 there
    assert quiet_until(datetime(2024, 4, 10, 19, 0, tzinfo=UTC), night) == datetime(
        2024, 4, 11, 0, 0, tzinfo=UTC)  # 03:00 there
    assert quiet_until(datetime(2024, 4, 10, 2, 0, tzinfo=UTC), night) is None  # 10:00
    assert quiet_until(at, None) is None
    assert quiet_until(datetime(2024, 4, 10, 5, 0, tzinfo=UTC), (time(12), time(14))) == \
        datetime(2024, 4, 10, 6, 0, tzinfo=UTC)  # 13:00 → 14:00, same day


def test_dingtalk_and_webhook_signatures():
    secret, ts = "SEC000", 1700000000000
    expected = quote_plus(base64.b64encode(hmac.new(
        secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()))
    assert dingtalk_sign(secret, ts) == expected
    assert dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=a", secret, ts) == \
        f"https://oapi.dingtalk.com/robot/send?access_token=a&timestamp={ts}&sign={expected}"
    assert dingtalk_url("https://x/send?access_token=a", None) == "https://x/send?access_token=a"
    body = b'{"a":1}'
    headers = {"x-fangpin-timestamp": "1700000000",
               "x-fangpin-signature": signature("k", 1700000000, body)}
    assert headers["x-fangpin-signature"] == "sha256=" + hmac.new(
        b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert verify("k", headers, body, now=1700000100)
    assert not verify("k", headers, body + b" ", now=1700000100)
    assert not verify("k", headers, body, now=1700009999)  # too old: replayed


def test_sms_template_and_rate_limit():
    values = {"mobiles": "1,2", "mobile": "1", "mobile_list": ["1", "2"], "text": "提醒"}
    assert fill({"to": "{mobile_list}", "m": "{mobiles}", "p": [{"c": "【防贫】{text}"}], "n": 3},
                values) == {"to": ["1", "2"], "m": "1,2", "p": [{"c": "【防贫】提醒"}], "n": 3}
    clock = SimpleNamespace(t=0.0)
    bucket = TokenBucket(60, burst=2, now=lambda: clock.t)
    assert bucket.available() == 2
    bucket.take()
    bucket.take()
    assert bucket.available() == 0 and bucket.wait_seconds() == pytest.approx(1.0)
    clock.t = 1.5
    assert bucket.available() == 1


def test_digest_rules():
    assert due_day(datetime(2024, 4, 10, 0, 29, tzinfo=UTC), time(8, 30)) is None  # 08:29
    assert due_day(datetime(2024, 4, 10, 0, 30, tzinfo=UTC), time(8, 30)) == date(2024, 4, 10)
    assert digest_id("u", date(2024, 4, 10)) == digest_id("u", date(2024, 4, 10))
    assert digest_id("u", date(2024, 4, 10)) != digest_id("u", date(2024, 4, 11))
    at = datetime(2024, 4, 9, 2, tzinfo=UTC)
    items = [SimpleNamespace(overdue=False, body="【即将到期】甲", created_at=at),
             SimpleNamespace(overdue=True, body="乙逾期", created_at=at)]
    title, body = compose("板榄镇人民政府", date(2024, 4, 10), items, max_items=1)
    assert title == "【每日汇总】板榄镇人民政府 2024-04-10：未处理提醒 2 条，其中已逾期 1 条"
    assert "1. 【已逾期】乙逾期（2024-04-09）" in body and "另有 1 条未列出" in body


def test_parent_chain():
    parents = {"county": None, "town": "county", "village": "town"}
    assert parent_problem("village", "town", parents) is None
    assert "循环" in parent_problem("town", "village", parents)
    assert "不存在" in parent_problem("village", "nowhere", parents)
