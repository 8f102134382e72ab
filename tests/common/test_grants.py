"""Department grants and the authority for acts: county configuration applied by
fangpin_common.auth / fangpin_common.authority, without a server."""

import pytest
import sqlalchemy as sa
from fastapi import HTTPException

from fangpin_common.auth import Principal, bind, projected, reach_clause, within_reach
from fangpin_common.authority import ensure_may
from fangpin_common.county import ConfigError, County, load_county
from fangpin_common.grants import Grant
from fangpin_common.testing import COUNTY_CONFIG

HOUSEHOLDS = sa.table("households", sa.column("id"), sa.column("township"),
                      sa.column("village"), sa.column("category"),
                      sa.column("whole_household_dibao"))
ROWS = [("h1", "450224103", "板榄村", "监测户", True), ("h2", "450224103", "板榄村", "脱贫户", False),
        ("h3", "450224100", "城东村", "一般农户", True), ("h4", "450224100", "城东村", "监测户", False)]


def county() -> County:
    return load_county(COUNTY_CONFIG)


def department(code: str) -> Principal:
    return bind(Principal(sub=f"d:{code}", role="department", department=code), county())


def seen(principal: Principal, resource: str | None) -> set[str]:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE households (id TEXT, township TEXT, village TEXT, "
                             "category TEXT, whole_household_dibao BOOLEAN)"))
        conn.execute(sa.text("INSERT INTO households VALUES (:i, :t, :v, :c, :d)"),
                     [dict(zip("itvcd", r, strict=True)) for r in ROWS])
        query = within_reach(sa.select(HOUSEHOLDS.c.id), principal, HOUSEHOLDS.c.township,
                             HOUSEHOLDS.c.village, resource=resource, entity=HOUSEHOLDS)
        return {r[0] for r in conn.execute(query)}


def test_a_department_reads_the_rows_its_grant_names_in_lists_and_single_reads():
    civil = department("county.civil_affairs")
    health = department("county.health")
    assert seen(civil, "households") == {"h1", "h3"}  # 低保 households
    assert seen(health, "households") == {"h1", "h4"}  # monitored households
    for principal in (civil, health):
        for row in ROWS:
            record = dict(zip(("id", "township", "village", "category",
                               "whole_household_dibao"), row, strict=True))
            assert principal.can_reach(row[1], row[2], resource="households", row=record) == (
                row[0] in seen(principal, "households"))


def test_a_department_reaches_nothing_its_grant_does_not_name():
    civil = department("county.civil_affairs")
    assert seen(civil, None) == set()  # the caller named no resource: nothing
    assert seen(civil, "labourers") == set()
    assert not civil.can_reach("450224103", "板榄村")
    assert not civil.can_reach("450224103", "板榄村", resource="labourers")
    assert seen(department("county.hrss"), "households") == set()


def test_an_unknown_department_is_refused():
    for code in ("county.nonexistent", None):
        with pytest.raises(HTTPException) as refused:
            department(code)
        assert refused.value.status_code == 403


def test_areas_are_unchanged_for_area_roles():
    c = county()
    township = bind(Principal(sub="t", role="township", township="450224103"), c)
    assert seen(township, "households") == {"h1", "h2"}
    assert reach_clause(bind(Principal(sub="c", role="county"), c), None, None) is None


def test_a_grant_with_fields_shows_only_them():
    health = department("county.health")
    record = {"id": "h1", "township": "450224103", "village": "板榄村", "category": "监测户",
              "phone": "13800000000", "address": "某地",
              "members": [{"id": "m1", "name": "韦明", "id_number": "450224198001010019",
                           "health": "大病", "phone": "13900000000"}]}
    shown = projected(health, "households", record)
    body = shown.body.decode()
    assert "450224198001010019" not in body and "13900000000" not in body
    assert "13800000000" not in body and "大病" in body and "韦明" in body
    assert projected(department("county.civil_affairs"), "households", record) is record


def test_grant_conditions_replace_self_by_the_department():
    grant = Grant(where={"department": "$self", "kind": ["a", "b"]})
    assert grant.matches({"department": "county.x", "kind": "b"}, "county.x")
    assert not grant.matches({"department": "county.y", "kind": "b"}, "county.x")
    assert not grant.matches({"department": "county.x", "kind": "c"}, "county.x")


def test_acts_follow_the_county_file():
    c = county()
    village = Principal(sub="v", role="village", township="450224103", village="板榄村")
    township = Principal(sub="t", role="township", township="450224103")
    for act in ("case.plan", "case.assessment", "case.measure"):
        with pytest.raises(HTTPException) as refused:
            ensure_may(c, village, act)
        assert refused.value.status_code == 403 and "村级不能办理" in refused.value.detail
        ensure_may(c, township, act)
    changed = c.model_copy(update={"authority": {"case.plan": ["county", "township", "village"]}})
    ensure_may(changed, village, "case.plan")


def test_the_county_file_is_checked(tmp_path):
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    good = "  case.plan: [county, township]\n"
    assert good in text
    for bad, named in (("  case.plan: [county, mayor]\n", "mayor"),
                       ("  case.open_directly: [county]\n", "case.open_directly")):
        path = tmp_path / "county.yaml"
        path.write_text(text.replace(good, bad, 1), encoding="utf-8")
        with pytest.raises(ConfigError, match=named):
            load_county(path)
