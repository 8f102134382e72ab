"""Pure rules of warnings, identification, plans, income and elimination: no database."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from fangpin_common.county import load_county
from fangpin_common.deadlines import DeadlineRule, add_months
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_monitoring.elimination import rules as elim
from fangpin_monitoring.identification import rules as ident
from fangpin_monitoring.income import rules as income
from fangpin_monitoring.plans import rules as plans
from fangpin_monitoring.warnings import rules as warn
from fangpin_monitoring.warnings.files import convert
from fangpin_monitoring.warnings.kinds import DEFAULT_KINDS, Column, WarningKind, kinds_of

COUNTY = load_county(COUNTY_CONFIG)
TODAY = date(2024, 4, 10)


def test_months_count_calendar_months_and_clip_to_month_end():
    assert add_months(date(2024, 4, 27), 6) == date(2024, 10, 27)
    assert add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert add_months(date(2024, 7, 15), 6) == date(2025, 1, 15)
    assert DeadlineRule("case.assessment", 0, 0, months=6).due_on(date(2024, 3, 31)) == date(
        2024, 9, 30)
    assert COUNTY.deadline_rule("case.assessment", 0, 0, 6).months == 6
    assert COUNTY.deadline_rule("not.configured", 3, 1, 2) == DeadlineRule("not.configured", 3, 1,
                                                                            2)


def test_kinds_are_data_with_valid_templates_and_county_overrides():
    kinds = kinds_of(COUNTY)
    assert {k.department for k in kinds.values()} >= {
        "county.education", "county.civil_affairs", "county.public_security", "county.hrss",
        "county.housing", "county.health", "county.medical_insurance", "county.emergency",
        "county.meteorology", "county.disability", "county.water"}
    assert all(COUNTY.unit(k.department) for k in DEFAULT_KINDS)
    assert {k.code for k in kinds.values() if k.outside_system} >= {"civil_affairs.low_income"}
    with pytest.raises(ValidationError, match="unknown column"):
        WarningKind(code="x", name="x", department="county.water", match="person",
                    risk_type="其他", reason="{nope}")
    with pytest.raises(ValidationError, match="unknown risk type"):
        WarningKind(code="x", name="x", department="county.water", match="person",
                    risk_type="因懒", reason="x")
    custom = COUNTY.model_copy(update={"settings": {"warning_kinds": [{
        "code": "education.dropout", "name": "控辍保学", "department": "county.education",
        "match": "person", "dedupe": "person", "risk_type": "因学",
        "reason": "控辍保学名单：{name}"}]}})
    assert kinds_of(custom)["education.dropout"].name == "控辍保学"
    assert kinds_of(COUNTY)["education.dropout"].name == "辍学失学"


def test_reasons_render_from_the_row_without_empty_brackets():
    kind = kinds_of(COUNTY)["education.dropout"]
    assert warn.render_reason(kind, {"name": "韦小", "school": None}, "县教育局") == \
        "县教育局比对：韦小辍学失学"
    assert warn.render_reason(kind, {"name": "韦小", "school": "二中", "event_date": "2024-03-01"},
                              "县教育局") == "县教育局比对：韦小（二中）2024-03-01辍学失学"


def test_cells_convert_or_say_why():
    id_col = Column(key="id_number", header="身份证号", type="id_number")
    assert convert(id_col, " 11010519491231002x ", COUNTY, TODAY) == "11010519491231002X"
    with pytest.raises(ValueError, match="文本格式"):
        convert(id_col, 1.1010519491231002e17, COUNTY, TODAY)
    day = Column(key="d", header="日期", type="date")
    for raw in ("2024-03-01", "2024/3/1", "20240301", "2024年3月1日", date(2024, 3, 1)):
        assert convert(day, raw, COUNTY, TODAY) == "2024-03-01"
    with pytest.raises(ValueError, match="晚于今天"):
        convert(day, "2024-05-01", COUNTY, TODAY)
    money = Column(key="a", header="金额", type="amount")
    assert convert(money, "1,234.5", COUNTY, TODAY) == "1234.50"
    for bad, why in (("-1", "非负"), ("1.234", "两位小数"), ("abc", "不是数字")):
        with pytest.raises(ValueError, match=why):
            convert(money, bad, COUNTY, TODAY)
    township = Column(key="t", header="乡镇", type="township")
    assert convert(township, "板榄镇", COUNTY, TODAY) == "450224103"
    assert convert(township, "", COUNTY, TODAY) is None


def test_who_uploads_and_which_periods():
    kind = kinds_of(COUNTY)["education.dropout"]
    assert warn.can_upload(kind, "county", None, None)
    assert warn.can_upload(kind, "department", "county.education", None)
    assert not warn.can_upload(kind, "department", "county.health", "county.health")
    assert not warn.can_upload(kind, "township", None, "township.450224103")
    assert warn.period_problem("2024-04", TODAY) is None
    assert "YYYY-MM" in warn.period_problem("2024-4", TODAY)
    assert "晚于本月" in warn.period_problem("2024-05", TODAY)
    assert warn.dedupe_key("k", "m1", "h1", "person") == "k:m1"
    assert warn.dedupe_key("k", "m1", "h1", "household") == "k:h1"
    assert warn.verification_problem("dismiss", " ", None, TODAY, TODAY, TODAY)[0] == "reason"
    assert warn.verification_problem("include", None, None, TODAY, TODAY, TODAY)[0] == "category"
    assert warn.verification_problem("include", None, "边缘易致贫户", date(2024, 4, 9), TODAY,
                                     TODAY)[0] == "verified_on"


def test_identification_order_and_roles_are_enforced():
    assert ident.next_step(()) == "risk_review"
    assert ident.next_step(ident.STEPS) is None
    assert ident.transition("in_progress", (), "risk_review", "village") is None
    skipped = ident.transition("in_progress", ("risk_review",), "data_comparison", "county")
    assert skipped.code == "step_order" and "入户核查" in skipped.message
    again = ident.transition("in_progress", ("risk_review",), "risk_review", "village")
    assert again.code == "step_done"
    done = ident.STEPS[:-1]
    assert ident.transition("in_progress", done, "county_confirmation", "township").code == \
        "step_role"
    assert ident.transition("confirmed", (), "risk_review", "county").code == \
        "identification_closed"


def test_a_home_check_needs_both_signatures_and_the_checkers():
    record = {"done_on": TODAY, "people": [], "application_signed": False,
              "data_query_authorised": None}
    problems = ident.record_problems("home_check", "pass", record, date(2024, 4, 9), TODAY)
    assert [p.field for p in problems] == ["people", "application_signed", "data_query_authorised"]
    assert ident.record_problems("home_check", "reject", record | {"reason": "农户不同意申请"},
                                 date(2024, 4, 9), TODAY) == []
    assert ident.record_problems("home_check", "reject", record, date(2024, 4, 9),
                                 TODAY)[0].field == "reason"
    late = ident.record_problems("risk_review", "pass", {"done_on": date(2024, 4, 8)},
                                 date(2024, 4, 9), TODAY)
    assert late[0].code == "before_previous"


def test_democratic_review_needs_a_finished_notice_and_a_majority():
    base = {"done_on": TODAY, "votes_for": 8, "votes_against": 1,
            "notice_start": date(2024, 4, 6), "notice_end": TODAY}
    assert ident.record_problems("democratic_review", "pass", base, date(2024, 4, 5), TODAY) == []
    running = base | {"notice_end": date(2024, 4, 11), "done_on": TODAY}
    assert ident.record_problems("democratic_review", "pass", running, date(2024, 4, 5),
                                 date(2024, 4, 12))[0].code == "notice_running"
    split = ident.record_problems("democratic_review", "pass", base | {"votes_for": 1},
                                  date(2024, 4, 5), TODAY)
    assert split[0].code == "votes"
    objected = ident.record_problems("democratic_review", "pass", base | {"objections": "有异议"},
                                     date(2024, 4, 5), TODAY)
    assert objected[0].code == "objections_open"


@pytest.mark.parametrize("capacities, kinds, errors, warnings", [
    (["普通劳动力", "无劳动力"], ["developmental"], 0, 0),
    (["普通劳动力"], ["safety_net", "other"], 1, 0),
    (["无劳动力", "无劳动力"], ["developmental"], 1, 0),
    (["无劳动力"], ["safety_net"], 0, 0),
    (["弱劳力"], ["safety_net"], 0, 1),
    (["半劳力", "无劳动力"], ["developmental"], 0, 0),
    ([], ["other"], 1, 0),
])
def test_the_labour_capacity_rule(capacities, kinds, errors, warnings):
    check = plans.labour_check(plans.labour_level(capacities), kinds)
    assert (len(check.errors), len(check.warnings)) == (errors, warnings)


def test_measure_types_are_classified():
    assert plans.measure_kind("小额信贷") == plans.DEVELOPMENTAL
    assert plans.measure_kind("以奖代补") == plans.DEVELOPMENTAL
    assert plans.measure_kind("特困供养") == plans.SAFETY_NET
    assert plans.measure_kind("危房改造") == plans.OTHER


def test_per_capita_income_in_decimal_yuan():
    fen = income.net_fen([("工资性收入", 1_000_000), ("生产经营性收入", 250_050),
                          ("生产经营性支出", 50_000), ("转移性收入", 1)])
    assert fen == 1_200_051
    assert income.per_capita_yuan(fen, 3) == Decimal("4000.17")
    assert income.per_capita_yuan(100, 3) == Decimal("0.33")
    assert income.per_capita_yuan(250_000, 1, months=3) == Decimal("10000.00")  # annualised
    assert income.per_capita_yuan(100, 0) is None
    assert income.yuan_to_fen(Decimal("12.345")) == 1235
    assert income.months_before(date(2024, 1, 15), 3) == ["2023-10", "2023-11", "2023-12"]
    assert income.month_after("2024-12") == date(2025, 1, 1)


def test_the_income_ledger_reasons():
    line = Decimal("10000")
    below = income.ledger_entry(2024, 1_800_000, 6, 0, 0, 2, False, line)
    assert below.per_capita == Decimal("18000.00") and below.reasons == []
    assert income.ledger_entry(2024, 900_000, 12, 0, 0, 1, False, line).reasons == ["below_line"]
    fell = income.ledger_entry(2024, 1_200_000, 12, 1_500_000, 12, 1, True, line)
    assert fell.reasons == ["fell", "relocated"] and fell.previous == Decimal("15000.00")
    carried = income.ledger_entry(2024, 0, 0, 800_000, 12, 1, False, line)
    assert carried.basis_year == 2023 and carried.reasons == ["below_line"]
    assert income.ledger_entry(2024, 0, 0, 0, 0, 2, False, line).reasons == []


def test_stable_income_for_half_a_year():
    months = income.months_before(date(2024, 10, 27), 6)
    line = Decimal("10000")
    good = {m: 200_000 for m in months}  # 2,000 yuan a month for one person: 24,000 a year
    assert income.stable_income_problems(good, months, 1, line) == []
    assert "缺 2024-06" in income.stable_income_problems(
        {m: v for m, v in good.items() if m != "2024-06"}, months, 1, line)[0]
    assert "低于监测线" in income.stable_income_problems(good, months, 3, line)[0]
    falling = good | {m: 10_000 for m in months[-3:]}  # fine on average, not lately
    [problem] = income.stable_income_problems(falling, months, 1, Decimal("12000"))
    assert "近3个月" in problem and "收入不稳定" in problem


def facts(**overrides) -> elim.Facts:
    values = {"inclusion_date": date(2024, 4, 27), "on": date(2024, 10, 27),
              "labour_level": "full", "income_problems": [],
              "assessment": elim.Assessment(date(2024, 10, 27), "propose_elimination", True,
                                            {k: True for k in elim.GUARANTEES})}
    return elim.Facts(**(values | overrides))


def test_elimination_conditions_each_say_what_failed():
    assert elim.condition_problems(facts()) == []
    early = elim.condition_problems(facts(on=date(2024, 10, 26)))
    assert [p.field for p in early] == ["months"] and "未满6个月" in early[0].message
    assert [p.code for p in elim.condition_problems(facts(assessment=None))] == ["not_assessed"]
    unresolved = elim.Assessment(date(2024, 10, 27), "propose_elimination", False,
                                 {k: k != "housing_secure" for k in elim.GUARANTEES})
    problems = elim.condition_problems(facts(assessment=unresolved))
    assert [p.field for p in problems] == ["rigid_expenses", "guarantees"]
    assert "住房安全有保障" in problems[1].message
    none = elim.condition_problems(facts(labour_level="none", income_problems=["收入太低"]))
    assert [p.field for p in none] == ["income", "labour"]
    assert "不得风险消除" in none[1].message
    assert elim.full_months(date(2024, 4, 27), date(2024, 10, 26)) == 5
    assert elim.full_months(date(2024, 4, 27), date(2024, 11, 7)) == 6


def test_elimination_steps_two_verifiers_seven_day_notice_objections_resolved():
    prev = date(2024, 10, 28)
    one = elim.record_problems("home_verification", "pass",
                               {"done_on": prev, "people": ["甲", "甲"]}, prev, prev)
    assert one[0].code == "too_few_verifiers" and "1 人" in one[0].message
    notice = {"done_on": date(2024, 11, 5), "notice_start": date(2024, 10, 30),
              "notice_end": date(2024, 11, 5), "objections": []}
    assert elim.record_problems("public_notice", "pass", notice, prev, date(2024, 11, 5)) == []
    short = notice | {"notice_start": date(2024, 10, 31)}
    assert elim.record_problems("public_notice", "pass", short, prev,
                                date(2024, 11, 5))[0].code == "notice_too_short"
    open_objection = notice | {"objections": [{"content": "x", "resolution": None}]}
    [problem] = elim.record_problems("public_notice", "pass", open_objection, prev,
                                     date(2024, 11, 5))
    assert problem.field == ("objections", 0, "resolution")
    assert elim.transition("in_progress", (), "village_review", "village").code == "step_order"
    assert elim.transition("in_progress", elim.STEPS[:-1], "county_approval",
                           "township").code == "step_role"
