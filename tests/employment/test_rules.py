"""Pure rules of the employment service: no server, no database."""

from datetime import date, timedelta

import pytest

from fangpin_common.county import ConfigError, load_county
from fangpin_common.deadlines import DeadlineRule
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_employment.assistance import rules as package
from fangpin_employment.forms import rules as form
from fangpin_employment.labourers import rules as labourers
from fangpin_employment.policy import EmploymentPolicy, load_policy
from fangpin_employment.returnees import rules as returnees
from fangpin_employment.workinfo import rules as work

PACKAGE = EmploymentPolicy().service_package


def test_who_is_a_labourer():
    base = dict(labour_capacity="普通劳动力", deceased=False, removed=False, in_school=False,
                household_category="脱贫户", included=False)
    assert labourers.labourer_status(**base) == (True, None)
    assert labourers.labourer_status(**base | {"household_category": "监测户",
                                               "labour_capacity": "半劳力"}) == (True, None)
    assert labourers.labourer_status(**base | {"deceased": True}) == (False, "已故")
    assert labourers.labourer_status(**base | {"removed": True}) == (False, "已移出本户")
    assert labourers.labourer_status(**base | {"labour_capacity": "无劳动力"})[1] == "无劳动力"
    assert labourers.labourer_status(**base | {"in_school": True})[1] == "在校学生"
    ordinary = base | {"household_category": "一般农户"}
    assert labourers.labourer_status(**ordinary) == (False, "非脱贫户或监测户")
    assert labourers.labourer_status(**ordinary | {"included": True}) == (True, None)


def test_working_age_window_matches_ages_every_day():
    window = (16, 60)
    births = [date(1963, 2, 28), date(1963, 3, 1), date(1964, 2, 29), date(2008, 2, 29),
              date(2008, 3, 1), date(1963, 12, 31), date(2008, 1, 1)]
    day = date(2023, 12, 25)
    while day < date(2025, 3, 10):
        after, by = labourers.birth_bounds(day, window)
        for born in births:
            assert (after < born <= by) == labourers.is_working_age(born, day, window), (
                day, born)
        day += timedelta(days=1)


def test_quarters():
    assert work.quarter_of(date(2024, 5, 10)) == (2024, 2)
    assert work.quarter_bounds(2024, 4) == (date(2024, 10, 1), date(2024, 12, 31))
    assert work.quarter_bounds(2024, 1) == (date(2024, 1, 1), date(2024, 3, 31))
    assert work.previous_quarter(2024, 1) == (2023, 4)
    assert work.parse_quarter("2024Q3") == (2024, 3) and work.parse_quarter("2024Q5") is None
    assert work.months_begun(2024, 2, date(2024, 5, 20)) == 2
    assert work.months_begun(2024, 2, date(2024, 3, 31)) == 0
    assert work.months_begun(2024, 2, date(2024, 7, 1)) == 3


def test_record_problems():
    today = date(2024, 5, 10)
    ok = dict(year=2024, quarter=2, months_worked=3, wage_fen=0, verified_on=None, today=today)
    assert work.record_problems(**ok) == []
    codes = lambda **kw: [c for _, _, c in work.record_problems(**ok | kw)]  # noqa: E731
    assert codes(quarter=3) == ["future_quarter"]
    assert codes(months_worked=4) == ["too_many_months"]
    assert codes(months_worked=-1) == ["negative_months"]
    assert codes(wage_fen=-1) == ["negative_wage"]
    assert codes(verified_on=date(2024, 3, 31)) == ["before_quarter"]
    assert codes(verified_on=date(2024, 5, 11)) == ["future_date"]


def test_anomalies_each_rule():
    base = dict(year=2024, quarter=2, months_worked=3, wage_fen=1_500_000, location_type="区外",
                place="广东", employer="厂", verified_on=date(2024, 6, 20),
                entered_on=date(2024, 6, 20), min_monthly_fen=80_000,
                max_monthly_fen=3_000_000)
    codes = lambda **kw: [c for c, _ in work.anomalies(**base | kw)]  # noqa: E731
    assert codes() == []
    assert codes(verified_on=date(2024, 5, 10), entered_on=date(2024, 5, 10)) == [
        "months_exceed_quarter"]
    assert codes(months_worked=0, location_type=None) == ["wage_without_months"]
    assert codes(wage_fen=0) == ["months_without_wage"]
    assert codes(wage_fen=90_000) == ["wage_too_low"]
    assert codes(wage_fen=9_300_000) == ["wage_too_high"]
    assert codes(place=None) == ["location_missing"]
    assert codes(employer="") == ["employer_missing"]
    assert codes(verified_on=None) == ["not_verified"]
    assert codes(verified_on=date(2024, 7, 2)) == ["verified_late"]
    assert codes(home_all_quarter=True) == ["away_while_home"]
    assert codes(location_type="县内", home_all_quarter=True) == []
    [(_, message)] = work.anomalies(**base | {"wage_fen": 90_000})
    assert message == "月均工资300元，低于合理下限800元"
    assert work.is_stable(6, 6) and not work.is_stable(5, 6)


def test_returnee_is_back_more_than_a_month():
    assert returnees.qualifies_on(date(2024, 7, 5)) == date(2024, 8, 6)
    assert returnees.qualifies_on(date(2024, 1, 31)) == date(2024, 3, 1)  # 29 Feb + 1 day
    assert returnees.qualifies_on(date(2023, 1, 31)) == date(2023, 3, 1)
    assert returnees.qualifies_on(date(2024, 12, 15)) == date(2025, 1, 16)
    assert returnees.qualifies_on(date(2024, 7, 5), months=2) == date(2024, 9, 6)
    assert returnees.left_problems(left_on=date(2024, 7, 1), back_since=date(2024, 7, 5),
                                   today=date(2024, 8, 1))[0][0] == "left_on"
    assert returnees.graduate_problems(household_category="一般农户", since=date(2024, 7, 1),
                                       today=date(2024, 8, 1))[0][0] == "labourer_id"


def test_251_columns_are_derived_from_the_items():
    assert package.carried_out({}, PACKAGE) is False and package.has_ledger({}) is False
    partial = {"job_recommendation": 2, "policy_contact": 4, "training_referral": 1}
    assert package.carried_out(partial, PACKAGE) is False and package.has_ledger(partial)
    full = partial | {"policy_contact": 5}
    assert package.carried_out(full, PACKAGE) is True
    assert package.progress_text(partial, PACKAGE) == (
        "岗位推荐2/2、政策宣传或就业服务4/5、技能培训推荐1/1")
    assert package.item_problems(kind="massage", item_on=date(2024, 1, 1),
                                 today=date(2024, 1, 1), package=PACKAGE)[0][0] == "kind"


def test_employment_status_precedence():
    back = date(2024, 7, 5)
    away = (2024, 2, 3, "区外")
    status = form.employment_status
    assert status(latest=away, latest_start=date(2024, 4, 1), back_since=None,
                  outcome=None) == (True, "已转移就业（区外）")
    assert status(latest=away, latest_start=date(2024, 4, 1), back_since=back,
                  outcome=None) == (False, "返乡未就业")
    assert status(latest=(2024, 3, 1, "县内"), latest_start=date(2024, 7, 1), back_since=date(
        2024, 6, 20), outcome=None) == (True, "已转移就业（县内）")
    assert status(latest=None, latest_start=None, back_since=back,
                  outcome=("县内就业", date(2024, 8, 1))) == (True, "已就业（县内就业）")
    assert status(latest=None, latest_start=None, back_since=back,
                  outcome=("县内就业", date(2024, 7, 1)))[0] is False  # before coming back
    assert status(latest=(2024, 2, 0, None), latest_start=date(2024, 4, 1), back_since=None,
                  outcome=None) == (False, "未就业")
    assert status(latest=None, latest_start=None, back_since=None, outcome=(
        "暂无就业意愿", date(2024, 8, 1))) == (False, "未就业（本年度未采集务工信息）")


def test_form_row_and_periods():
    row = form.form_row(serial=1, county_name="融安县", township_name="长安镇", village="长安村",
                        name="韦某", sex="男", age=40, groups=["返乡回流人员", "监测对象"],
                        category="监测户", subcategory="突发严重困难户", counts={},
                        package=PACKAGE, status="返乡未就业", reason=None, note="备注")
    assert len(row) == len(form.COLUMNS) == 14
    assert row[7] == "监测对象、返乡回流人员" and row[8] == "监测户（突发严重困难户）"
    assert row[9:11] == ["否", "否"] and row[12] == ""
    assert row[13].startswith("备注；“251”帮扶进度：")
    assert form.parse_period("2024-08") == (2024, 8) and form.parse_period("2024-8") is None
    assert form.period_problem("2024-09", date(2024, 8, 31)) is not None
    assert form.as_of(2024, 7, date(2024, 8, 20)) == date(2024, 7, 31)
    start = form.deadline_start(2024, 3)
    assert DeadlineRule("t", 3).due_on(start) == date(2024, 3, 3)
    assert DeadlineRule("c", 5).due_on(form.deadline_start(2025, 1)) == date(2025, 1, 5)


def test_policy_defaults_and_errors(tmp_path):
    policy = load_policy(load_county(COUNTY_CONFIG))
    assert [(p.kind, p.required) for p in policy.service_package] == [
        ("job_recommendation", 2), ("policy_contact", 5), ("training_referral", 1)]
    assert policy.stable_months == 6
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    bad = tmp_path / "county.yaml"
    bad.write_text(text + "\nsettings:\n  employment:\n    stable_months: 13\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="stable_months"):
        load_policy(load_county(bad))


def test_reminder_templates_render_for_every_employment_event():
    """The county file's routing rules for employment events render with real payloads."""
    from fangpin_common.events import DeadlineData
    from fangpin_common.events.employment import (
        FormOverdue,
        ReturneeAssistanceOverdue,
        WorkerReturnedHome,
        WorkerReturnedHomeData,
        WorkInfoDueSoon,
    )
    from fangpin_notifications.routing.rules import load_rules, render, resolve_recipients

    county = load_county(COUNTY_CONFIG)
    rule_set = load_rules(county, COUNTY_CONFIG.read_text(encoding="utf-8"))
    rules = {r.event: r for r in rule_set.rules if not r.event.startswith("fangpin.*")}
    deadline = dict(deadline_id="d", subject_type="labourer", subject_id="m:2024Q2",
                    township="450224100", village="长安村", started_on=date(2024, 4, 1),
                    due_on=date(2024, 6, 30), days_overdue=2)
    events = [
        WorkInfoDueSoon(data=DeadlineData(kind="employment.work_info", **deadline, context={
            "labourer_id": "m", "year": 2024, "quarter": 2})),
        FormOverdue(data=DeadlineData(kind="employment.form.county", **deadline | {
            "township": None, "village": None}, context={"period": "2024-08"})),
        ReturneeAssistanceOverdue(data=DeadlineData(kind="employment.returnee.assistance",
                                                    **deadline, context={"labourer_id": "m"})),
        WorkerReturnedHome(data=WorkerReturnedHomeData(
            return_id="r", labourer_id="m", township="450224100", village="长安村",
            previous_location_type="区外", back_since=date(2024, 7, 5),
            qualified_on=date(2024, 8, 6))),
    ]
    texts = {e.type: render(rules[e.type].template, e, county) for e in events}
    assert "长安镇长安村劳动力（编号 m）2024年第2季度" in texts[WorkInfoDueSoon.event_type()]
    assert "2024-08《未转移就业脱贫劳动力就业情况统计表》未在 2024-06-30 前报送" in texts[
        FormOverdue.event_type()]
    assert "自 2024-07-05 从区外返乡" in texts[WorkerReturnedHome.event_type()]
    assert resolve_recipients(rules[FormOverdue.event_type()], events[1].data.model_dump(),
                              county) == ["county.employment_group"]
