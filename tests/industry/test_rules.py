"""Industry rules without a server or database."""

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from fangpin_common.county import ConfigError, load_county
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_industry.config import expand_units, load_industry
from fangpin_industry.households import rules as hh
from fangpin_industry.projects import rules as pr
from fangpin_industry.specialties.rules import village_list_problems
from fangpin_industry.targets import rules as tr

T0 = datetime(2024, 4, 1, tzinfo=UTC)


def test_periods():
    assert tr.period_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert tr.period_bounds("2024-Q2") == (date(2024, 4, 1), date(2024, 6, 30))
    assert tr.period_bounds("2024") == (date(2024, 1, 1), date(2024, 12, 31))
    assert tr.period_bounds("2024-13") is None and tr.period_bounds("2024-Q5") is None
    today = date(2024, 4, 10)
    assert tr.period_problem("2024-04", 2024, today) is None
    assert "尚未开始" in tr.period_problem("2024-05", 2024, today)
    assert "不在指标年度" in tr.period_problem("2023-12", 2024, today)
    assert "格式不对" in tr.period_problem("24-1", 2024, today)


def report(unit, period, value, at=T0):
    return tr.Report(unit, period, tr.period_bounds(period)[1], Decimal(value), at)


def test_quantity_adds_each_units_latest_cumulative_report():
    reports = [report("township.a", "2024-01", "100"), report("township.a", "2024-03", "250.5"),
               report("township.b", "2024-Q1", "99.5"),
               # a correction of the same period, recorded later, wins
               report("township.b", "2024-Q1", "149.5", at=datetime(2024, 4, 2, tzinfo=UTC))]
    p = tr.progress("quantity", Decimal("800"), "county.agriculture", reports)
    assert p.achieved == Decimal("400.0") and p.percent == Decimal("50.00") and not p.met
    assert p.latest["township.a"].period == "2024-03"
    assert tr.progress("quantity", Decimal("400"), "x", reports).met


def test_rate_is_the_lead_units_figure():
    reports = [report("township.a", "2024-03", "90"), report("county.agriculture", "2024-03",
                                                             "72.4")]
    p = tr.progress("rate", Decimal("72"), "county.agriculture", reports)
    assert p.achieved == Decimal("72.4") and p.met and p.percent == Decimal("100.56")
    p = tr.progress("rate", Decimal("72"), "county.agriculture", reports[:1])
    assert p.achieved is None and not p.met
    assert tr.value_problem("rate", Decimal("-1.2")) is None
    assert tr.value_problem("quantity", Decimal("-1")) is not None


def test_who_counts_and_what_is_effective():
    assert hh.is_poverty_alleviated("脱贫户", None)
    assert hh.is_poverty_alleviated("监测户", "脱贫不稳定户")
    assert not hh.is_poverty_alleviated("监测户", "边缘易致贫户")
    assert not hh.is_poverty_alleviated("一般农户", None)
    loan = (date(2023, 5, 1), date(2024, 4, 30))
    assert hh.is_effective(*loan, date(2024, 4, 30))
    assert not hh.is_effective(*loan, date(2024, 5, 1))
    assert not hh.is_effective(date(2024, 4, 11), None, date(2024, 4, 10))


def test_coverage_per_township():
    facts = [
        hh.HouseholdFacts("h1", "A", "v1", ("金桔",), 1),
        hh.HouseholdFacts("h2", "A", "v1", ("旱鸭",), 0),  # the village's own specialty
        hh.HouseholdFacts("h3", "A", "v2", ("旱鸭",), 2),  # not a specialty in v2
        hh.HouseholdFacts("h4", "A", "v2", (), 0),
        hh.HouseholdFacts("h5", "B", "v3", ("香杉", "金桔"), 1),
    ]
    tallies = hh.coverage(facts, ["金桔", "香杉"], {("A", "v1"): ["旱鸭"]})
    a = tallies["A"]
    assert (a.households, a.with_specialty_industry, a.with_assistance) == (4, 2, 2)
    assert a.developing_without_measure == 1 and a.gaps == ["h2"]
    assert a.specialty_percent() == Decimal("50.00")
    assert hh.met(tallies["B"].assistance_percent(), Decimal("90"))
    assert not hh.met(None, Decimal("90"))


def test_farmer_linkage_must_be_stated():
    assert pr.linkage_problems([])[0][0] == ["farmer_linkage"]
    good = {"mode": "入股分红", "description": "分红", "households": 10, "poverty_households": 4}
    assert pr.linkage_problems([good]) == []
    problems = pr.linkage_problems([good, good | {"households": 0, "poverty_households": 2}])
    assert [p[0] for p in problems] == [["farmer_linkage", 1, "households"],
                                        ["farmer_linkage", 1, "poverty_households"],
                                        ["farmer_linkage", 1, "mode"]]


def test_linkage_models():
    assert pr.linkage_model_problem("龙头企业+合作社+基地+农户") is None
    assert pr.linkage_model_problem("合作社＋农户") is None
    assert pr.normalise_model("合作社 ＋ 农户") == "合作社+农户"
    assert "落到农户" in pr.linkage_model_problem("龙头企业+合作社")
    assert "不是可用" in pr.linkage_model_problem("银行+农户")
    assert pr.linkage_model_problem("农户") is not None


def facts(status="在建", completed=None, in_use=None, planned=40, actual=None):
    return pr.ProjectFacts(status, date(2024, 6, 30), completed, in_use, planned, actual)


def test_derived_flags():
    policy = pr.FlagPolicy(grace_days=0, idle_days=90, min_linked_share_percent=Decimal(50))
    assert pr.derived_flags(facts(), date(2024, 6, 30), policy) == {}
    assert "仍未完工" in pr.derived_flags(facts(), date(2024, 7, 1), policy)["建而不成"]
    done = facts("已完工", completed=date(2024, 6, 1))
    assert pr.derived_flags(done, date(2024, 8, 30), policy) == {}
    assert "91 天仍未投入使用" in pr.derived_flags(done, date(2024, 8, 31), policy)["成而不用"]
    used = facts("已投用", date(2024, 6, 1), date(2024, 6, 5), planned=40, actual=19)
    assert "不足计划 40 户" in pr.derived_flags(used, date(2024, 9, 1), policy)["用而不好"]
    assert pr.derived_flags(facts("已投用", date(2024, 6, 1), date(2024, 6, 5), 40, 20),
                            date(2024, 9, 1), policy) == {}


def test_status_moves_forward_with_its_dates():
    today = date(2024, 7, 1)
    assert pr.status_problems(facts("在建"), facts("未开工"), today)[0][0] == ["status"]
    assert pr.status_problems(facts("在建"), facts("已完工"), today)[0][0] == ["completed_on"]
    assert pr.status_problems(facts("在建"), facts("已完工", date(2024, 6, 20)), today) == []
    bad = facts("已投用", date(2024, 6, 20), date(2024, 6, 1))
    assert pr.status_problems(facts("在建"), bad, today)[0][0] == ["in_use_on"]


def test_village_list_limit():
    assert village_list_problems(["金桔", "旱鸭", "香杉"], 3) == []
    assert "最多 3 个" in village_list_problems(["a", "b", "c", "d"], 3)[0][1]
    assert village_list_problems(["a", "a"], 3)[0][0] == ["industries", 1]


def test_the_county_file_section():
    county = load_county(COUNTY_CONFIG)
    config = load_industry(county, COUNTY_CONFIG.read_text(encoding="utf-8"))
    assert config.target("aquatic_output_growth").target == Decimal("4.22")
    assert config.target("poultry_slaughter").target == Decimal("5100000")
    assert len(config.targets) == 14
    units = expand_units(county, ["county.agriculture", "all_townships"])
    assert len(units) == 13 and units[1] == "township.450224100"


def broken(tmp_path: Path, old: str, new: str) -> str:
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "county.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, fragment", [
    ("county_level: [金桔, 香杉, 中药材, 优质稻, 鸡]",
     "county_level: [金桔, 香杉, 中药材, 优质稻, 鸡, 茶]",
     "more than max_county_level 5"),
    ("lead: county.forestry, responsible", "lead: county.woods, responsible",
     "industry.targets.12.lead: 'county.woods' is not a unit"),
    ('target: "4.22"', "target: 4.22", "write decimals in quotes"),
])
def test_a_broken_section_is_refused_with_its_line(tmp_path, old, new, fragment):
    path = broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_industry(load_county(path), path.read_text(encoding="utf-8"))
    assert fragment in str(err.value)
    assert str(err.value).startswith("line ")
