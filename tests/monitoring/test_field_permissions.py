"""Edits limited by level (限级修改, M10): the pure rule, the configuration, PUT and imports."""

from datetime import date

import pytest

from fangpin_common.auth import mask_id_number, mask_phone
from fangpin_common.county import ConfigError, FieldPermissions, load_county
from fangpin_common.testing import COUNTY_CONFIG
from fangpin_monitoring.households.permissions import (
    forbidden_changes,
    refusal_message,
    restore_masked,
)

from .conftest import household, member, resident_id
from .households_kit import (
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    csv_bytes,
    quiet_app,
    row,
    start,
    state,
    upload,
)

DEFAULTS = FieldPermissions()
HEAD = resident_id("450224", date(1980, 1, 1), 1, True)
SPOUSE = resident_id("450224", date(1982, 3, 4), 2, False)


def stored() -> dict:
    return {"township": "450224103", "village": "板榄村", "category": "脱贫户",
            "monitoring_subcategory": None, "address": "一组", "phone": "13800000001",
            "relocation_site": False, "whole_household_dibao": False,
            "dangerous_house_renovation": False, "disaster_hit": False,
            "members": [
                {"id": "m1", "name": "韦明", "id_number": HEAD, "sex": "男",
                 "birth_date": "1980-01-01", "relation": "户主", "labour_capacity": "普通劳动力",
                 "in_school": False, "health": "健康", "phone": "13900000001",
                 "deceased": False},
                {"id": "m2", "name": "覃丽", "id_number": SPOUSE, "sex": "女",
                 "birth_date": "1982-03-04", "relation": "配偶", "labour_capacity": "弱劳力",
                 "in_school": False, "health": "健康", "phone": None, "deceased": False}]}


def sent_back(before: dict, **changes) -> dict:
    """What a client sends after reading the household: members without their ids."""
    after = {k: v for k, v in before.items() if k != "members"} | changes
    after.setdefault("members", [{k: v for k, v in m.items() if k != "id"}
                                 for m in before["members"]])
    return after


# -- the pure rule ------------------------------------------------------------------------
def test_unchanged_fields_sent_back_are_no_change_for_any_level():
    before = stored()
    for role in ("village", "township", "county"):
        assert forbidden_changes(role, before, sent_back(before), DEFAULTS) == []
    # Dates as dates, empty text as none: still the same values.
    after = sent_back(before, address="一组")
    after["members"][0]["birth_date"] = date(1980, 1, 1)
    after["members"][1]["phone"] = ""
    assert forbidden_changes("village", before, after, DEFAULTS) == []


def test_village_may_change_daily_facts_but_not_status_or_identity():
    before = stored()
    after = sent_back(before, address="二组", phone="13800000009", disaster_hit=True)
    after["members"][1] |= {"health": "患有大病", "phone": "13700000000", "in_school": True,
                            "labour_capacity": "无劳动力"}
    assert forbidden_changes("village", before, after, DEFAULTS) == []
    after = sent_back(before, category="监测户", monitoring_subcategory="边缘易致贫户",
                      village="别村")
    after["members"][0]["name"] = "韦明明"
    assert forbidden_changes("village", before, after, DEFAULTS) == [
        "village", "category", "monitoring_subcategory", "members[0].name"]
    assert forbidden_changes("township", before, after, DEFAULTS) == ["members[0].name"]
    assert forbidden_changes("county", before, after, DEFAULTS) == []


def test_members_added_or_removed_need_a_township():
    before = stored()
    removed = sent_back(before)
    removed["members"] = removed["members"][:1]
    assert forbidden_changes("village", before, removed, DEFAULTS) == ["members.remove[m2]"]
    added = sent_back(before)
    added["members"].append(member(name="韦小", born=date(2015, 1, 1), serial=3,
                                   relation="之子"))
    assert forbidden_changes("village", before, added, DEFAULTS) == ["members[2]"]
    assert forbidden_changes("township", before, added, DEFAULTS) == []
    assert forbidden_changes("township", before, removed, DEFAULTS) == []


def test_an_id_number_corrected_is_a_change_of_the_member_when_its_id_is_sent():
    before = stored()
    other = resident_id("450224", date(1980, 1, 1), 7, True)
    with_id = sent_back(before)
    with_id["members"][0] |= {"id": "m1", "id_number": other}
    assert forbidden_changes("township", before, with_id, DEFAULTS) == [
        "members[0].id_number"]
    assert forbidden_changes("county", before, with_id, DEFAULTS) == []
    # Without the member's id the new number reads as another person: remove and add.
    without = sent_back(before)
    without["members"][0]["id_number"] = other
    assert forbidden_changes("village", before, without, DEFAULTS) == [
        "members[0]", "members.remove[m1]"]


def test_masked_values_sent_back_are_restored_and_no_change():
    before = stored()
    after = sent_back(before, phone=mask_phone("13800000001"))
    after["members"][0] |= {"id_number": mask_id_number(HEAD),
                            "phone": mask_phone("13900000001")}
    after["members"][1]["id_number"] = mask_id_number(SPOUSE)
    restored = restore_masked(before, after)
    assert restored["phone"] == "13800000001"
    assert [m["id_number"] for m in restored["members"]] == [HEAD, SPOUSE]
    assert restored["members"][0]["phone"] == "13900000001"
    assert forbidden_changes("village", before, restored, DEFAULTS) == []


def test_configured_permissions_replace_the_defaults():
    narrow = FieldPermissions(village=["address"], township=["*"])
    before = stored()
    after = sent_back(before, phone="13800000009", address="三组")
    assert forbidden_changes("village", before, after, narrow) == ["phone"]
    assert forbidden_changes("township", before, sent_back(before, township="x"), narrow) == []
    assert forbidden_changes("township", before, sent_back(before, township="x"),
                             DEFAULTS) == ["township"]
    assert forbidden_changes("platform", before, sent_back(before, township="x"), narrow) == []


def test_the_refusal_names_each_field_in_chinese():
    message = refusal_message("village", ["category", "members[0].name", "members[2]"])
    assert message == ("村级账号无权修改字段：户类别（category）、成员姓名（members[0].name）、"
                       "新增成员（members[2]）")


def test_the_county_file_validates_roles_and_fields_with_their_line(tmp_path):
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    assert load_county(COUNTY_CONFIG).field_permissions.allowed("village") == \
        DEFAULTS.allowed("village")
    bad = text.replace("field_permissions:\n  county: [\"*\"]",
                       "field_permissions:\n  county: [\"*\"]\n  guest: [address]")
    path = tmp_path / "guest.yaml"
    path.write_text(bad, encoding="utf-8")
    line = bad.splitlines().index("  guest: [address]") + 1
    with pytest.raises(ConfigError, match=rf"guest.yaml:{line}: field_permissions.guest"):
        load_county(path)
    bad = text.replace("  village: [address, phone,", "  village: [address, telephone,")
    path = tmp_path / "field.yaml"
    path.write_text(bad, encoding="utf-8")
    line = next(i for i, t in enumerate(bad.splitlines(), 1)
                if t.startswith("  village: [address, telephone"))
    with pytest.raises(ConfigError, match=rf"field.yaml:{line}: field_permissions.village.1: "
                                          r".*unknown household field 'telephone'"):
        load_county(path)


# -- the API ------------------------------------------------------------------------------
@pytest.fixture
async def app(database, nats_server, clock):
    context, client = await start(quiet_app(database, nats_server, clock))
    yield client
    await context.__aexit__(None, None, None)


async def registered(app) -> dict:
    body = household(members=[member(phone="13900000001"),
                              member(name="覃丽", born=date(1982, 3, 4), serial=2, male=False,
                                     relation="配偶")], phone="13800000001", address="一组")
    r = await app.post("/api/v1/households", json=body, headers=COUNTY)
    assert r.status_code == 201, r.text
    return r.json()


def as_update(read: dict, **changes) -> dict:
    body = {k: read[k] for k in ("village", "category", "monitoring_subcategory", "address",
                                 "phone", "relocation_site", "whole_household_dibao",
                                 "dangerous_house_renovation", "disaster_hit")}
    members = [{k: v for k, v in m.items()} for m in read["members"]]
    return body | {"members": members, "revision": read["revision"]} | changes


async def test_village_put_of_what_it_read_with_its_own_changes_is_accepted(app):
    created = await registered(app)
    r = await app.get(f"/api/v1/households/{created['id']}", headers=VILLAGE)
    read = r.json()
    assert "*" in read["members"][0]["id_number"] and "*" in read["phone"]
    body = as_update(read, address="二组")
    next(m for m in body["members"] if m["name"] == "覃丽")["health"] = "长期慢性病"
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=VILLAGE)
    assert r.status_code == 200, r.text
    r = await app.get(f"/api/v1/households/{created['id']}", headers=COUNTY)
    after = r.json()
    assert after["revision"] == 2 and after["address"] == "二组"
    assert after["phone"] == "13800000001"  # the mask sent back kept the stored number
    assert sorted((m["id"], m["id_number"], m["phone"], m["health"])
                  for m in after["members"]) == sorted(
        (m["id"], m["id_number"], m["phone"], "长期慢性病" if m["name"] == "覃丽" else m["health"])
        for m in created["members"])


async def test_village_put_changing_forbidden_fields_is_refused_and_nothing_written(app):
    created = await registered(app)
    read = (await app.get(f"/api/v1/households/{created['id']}", headers=VILLAGE)).json()
    before = await state(app)
    body = as_update(read, category="监测户", monitoring_subcategory="边缘易致贫户",
                     address="二组")
    head = next(i for i, m in enumerate(body["members"]) if m["relation"] == "户主")
    body["members"][head]["name"] = "韦明明"
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=VILLAGE)
    assert r.status_code == 403
    detail = r.json()["detail"]
    assert detail["fields"] == ["category", "monitoring_subcategory",
                                f"members[{head}].name"]
    assert detail["msg"].startswith("村级账号无权修改字段：户类别（category）")
    assert await state(app) == before
    r = await app.get(f"/api/v1/households/{created['id']}", headers=COUNTY)
    assert r.json()["revision"] == 1 and r.json()["address"] == "一组"


async def test_township_adds_a_member_but_only_the_county_corrects_identity(app):
    created = await registered(app)
    read = (await app.get(f"/api/v1/households/{created['id']}", headers=TOWNSHIP)).json()
    body = as_update(read)
    body["members"].append(member(name="韦小", born=date(2015, 1, 1), serial=3,
                                  relation="之子", labour="无劳动力"))
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=TOWNSHIP)
    assert r.status_code == 200, r.text
    read = r.json()
    child = next(m for m in read["members"] if m["name"] == "韦小")
    corrected = resident_id("450224", date(2015, 1, 2), 3, True)
    body = as_update(read)
    for m in body["members"]:
        if m["id"] == child["id"]:
            m |= {"id_number": corrected, "birth_date": "2015-01-02"}
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=TOWNSHIP)
    assert r.status_code == 403
    assert sorted(f.split(".")[1] for f in r.json()["detail"]["fields"]) == [
        "birth_date", "id_number"]
    assert r.json()["detail"]["msg"].startswith("乡镇账号无权修改字段：")
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=COUNTY)
    assert r.status_code == 200, r.text
    fixed = next(m for m in r.json()["members"] if m["id"] == child["id"])
    assert (fixed["id_number"], fixed["birth_date"]) == (corrected, "2015-01-02")


async def test_only_the_county_moves_a_household_to_another_township(app):
    created = await registered(app)
    read = (await app.get(f"/api/v1/households/{created['id']}", headers=COUNTY)).json()
    body = as_update(read, township="长安镇", village="长安村")
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=TOWNSHIP)
    assert r.status_code == 403 and r.json()["detail"]["fields"] == ["township"]
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=COUNTY)
    assert r.status_code == 200 and r.json()["township"] == "450224100"
    body = as_update(r.json(), township="无此乡")
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=COUNTY)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "township"]


async def test_an_unknown_member_id_is_refused_with_its_field(app):
    created = await registered(app)
    read = (await app.get(f"/api/v1/households/{created['id']}", headers=COUNTY)).json()
    body = as_update(read)
    body["members"][0]["id"] = "nobody"
    r = await app.put(f"/api/v1/households/{created['id']}", json=body, headers=COUNTY)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "members", 0, "id"]


async def test_a_village_import_updating_a_household_is_held_to_its_level(app):
    created = await registered(app)
    key = created["id"]
    head = next(m for m in created["members"] if m["relation"] == "户主")
    spouse = next(m for m in created["members"] if m["relation"] == "配偶")
    same = [row(key, head["name"], 1, 家庭住址="一组", 户联系电话="13800000001",
                本人联系电话="13900000001"),
            row(key, spouse["name"], 2, relation="配偶", born=date(1982, 3, 4), male=False)]
    before = await state(app)
    changed = [dict(same[0], 户类别="一般农户"), dict(same[1], 户类别="", 姓名="覃莉")]
    r = await upload(app, csv_bytes(changed), headers=VILLAGE)
    assert r.status_code == 422, r.text
    found = {(d["row"], d["header"], d["type"]) for d in r.json()["detail"]}
    assert found == {(2, "户类别", "field_not_permitted"), (3, "姓名", "field_not_permitted")}
    assert any("村级账号无权修改字段：户类别（category）" in d["msg"]
               for d in r.json()["detail"])
    assert await state(app) == before
    # What the village may change goes through; the county may change the rest.
    allowed = [dict(same[0], 家庭住址="二组"), same[1]]
    r = await upload(app, csv_bytes(allowed), headers=VILLAGE)
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text
    r = await upload(app, csv_bytes(changed), headers=COUNTY)
    assert r.status_code == 200 and r.json()["updated"] == 1, r.text
