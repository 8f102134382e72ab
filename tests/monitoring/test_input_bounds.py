"""Bounded member lists, first-generation resident IDs and full-width digits (issue 10.8)."""

import json
from datetime import date

from sqlalchemy import select

from fangpin_common.tables import OUTBOX
from fangpin_common.testing import auth, stream_messages, token_for
from fangpin_monitoring.households import rules
from fangpin_monitoring.households.models import MAX_MEMBERS

from .conftest import household, member, resident_id

TOWNSHIP = auth(token_for("township", "板榄镇"))
PLATFORM = auth(token_for("platform"))
COUNTY = auth(token_for("county"))
SOURCE = "自主申报"
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_full_width_ids_are_normalised_and_a_15_digit_id_has_its_own_reason():
    assert rules.normalise_id_number("４５０２２４ １９８００１０１ ００１ｘ") == "45022419800101001X"
    assert rules.normalise_digits("１３９１２３４５６７８ ") == "13912345678"
    reason = rules.resident_id_problem("450224800101001")
    assert reason.startswith("这是15位的第一代身份证号") and "450224198001010019" in reason
    assert rules.resident_id_problem("450224198001010019") is None
    assert rules.resident_id_problem("4502241980010100") == (
        "身份证号应为18位，前17位为数字，最后一位为数字或X")


async def test_a_household_of_1500_members_is_refused_in_chinese(monitoring):
    many = [member(name=f"成员{i}", serial=i % 90, relation="之子") for i in range(1500)]
    r = await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                              json=household(members=many))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "members"] and error["type"] == "too_many_items"
    assert error["msg"] == f"家庭成员最多 {MAX_MEMBERS} 项，收到 1500 项"
    # The same bound on a replacement; 30 members are accepted.
    created = (await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                                     json=household())).json()
    r = await monitoring.put(f"/api/v1/households/{created['id']}", headers=COUNTY, json={
        "village": "板榄村", "category": "脱贫户", "members": many, "revision": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "too_many_items"
    thirty = [member(born=date(1970, 5, 5))] + [member(name=f"子{i}", born=date(2000 + i % 20, 1, 1 + i // 20),
                                  serial=i, relation="之子") for i in range(1, MAX_MEMBERS)]
    r = await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                              json=household(village="另一村", members=thirty))
    assert r.status_code == 201, r.text
    assert len(r.json()["members"]) == MAX_MEMBERS


async def test_a_first_generation_id_is_refused_with_its_own_message(monitoring):
    head = member()
    head["id_number"] = "450224800101001"
    r = await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                              json=household(members=[head]))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "members", 0, "id_number"]
    assert error["type"] == "first_generation_id"
    assert "第一代身份证号" in error["msg"] and "450224198001010019" in error["msg"]


async def test_full_width_digits_are_normalised_before_validation(monitoring):
    head = member(phone="13912345678")
    ascii_id = head["id_number"]
    head["id_number"] = ascii_id.translate(FULL_WIDTH)[:6] + " " + ascii_id.translate(
        FULL_WIDTH)[6:]
    head["phone"] = head["phone"].translate(FULL_WIDTH)
    r = await monitoring.post("/api/v1/households", headers=TOWNSHIP, json=household(
        members=[head], phone="０７７２５１２３４５６"))
    assert r.status_code == 201, r.text
    read = (await monitoring.get(f"/api/v1/households/{r.json()['id']}",
                                 headers=COUNTY)).json()
    assert read["members"][0]["id_number"] == ascii_id
    assert read["members"][0]["phone"] == "13912345678" and read["phone"] == "07725123456"
    # The same person typed in ASCII is the same person: refused in a second household.
    r = await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                              json=household(members=[member()]))
    assert r.status_code == 422 and "已登记在户" in r.json()["detail"][0]["msg"]
    assert resident_id("450224", date(1980, 1, 1), 1, True) == ascii_id


async def test_risk_types_are_bounded_by_how_many_there_are(monitoring):
    created = (await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                                     json=household())).json()
    r = await monitoring.post("/api/v1/identifications/platform-inclusions", headers=PLATFORM,
                              json={"inclusions": [{
                                  "household_id": created["id"], "inclusion_date": "2024-04-10",
                                  "category": "边缘易致贫户", "risk_types": ["因病"] * 5000}]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["msg"] == "风险类型最多 11 项，收到 5000 项"


async def test_a_warning_reason_with_a_phone_and_an_id_leaves_scrubbed(monitoring):
    """The reproduced finding: the reason is kept as typed (the township reads it), the
    event on its way to the bus carries markers instead."""
    created = (await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                                     json=household())).json()
    reason = "本人来电 13912345678 身份证 450224198001010019"
    r = await monitoring.post("/api/v1/warnings", headers=TOWNSHIP, json={
        "household_id": created["id"], "source": SOURCE, "risk_type": "因病",
        "reason": reason})
    assert r.status_code == 201, r.text
    assert r.json()["reason"] == f"{SOURCE}：{reason}"
    async with monitoring.app.state.db.session() as session:
        payloads = (await session.execute(select(OUTBOX.c.payload).where(
            OUTBOX.c.event_type == "fangpin.monitoring.warning.raised"))).scalars().all()
    relayed = await stream_messages(monitoring.app.state.settings.nats_url, "FANGPIN_MONITORING")
    raised = [json.loads(p) for p in [*payloads, *relayed]
              if b"warning.raised" in p and created["id"].encode() in p]
    assert raised
    for event in raised:
        assert event["data"]["reason"] == f"{SOURCE}：本人来电 [电话已隐去] 身份证 [身份证号已隐去]"
