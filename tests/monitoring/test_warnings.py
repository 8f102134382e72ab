"""Departmental data comparison (M4, M5, M7): files in, set-based matching, warnings out."""

from datetime import date, timedelta

import pytest

from fangpin_common.testing import confirmed_case, running, settings_for
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_monitoring.warnings.models import RiskWarning

from .conftest import TODAY, member
from .support import (
    COUNTY,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    VILLAGE,
    count,
    csv_bytes,
    department,
    json_bytes,
    new_household,
    person_id,
    state,
    upload,
    xlsx_bytes,
)

EDUCATION = department("county.education")
CIVIL = department("county.civil_affairs")


@pytest.fixture
async def monitoring(database, nats_server, clock):
    """The service without its relay, so that "nothing changed" is exact (the outbox)."""
    settings = settings_for(MonitoringSettings, database, nats_server.url, run_relay=False)
    app = create_app(settings, clock)
    async with running(app) as client:
        client.app = app
        yield client


async def test_a_file_matches_by_resident_id_and_reports_the_rest(monitoring):
    h1 = await new_household(monitoring, 1)
    h2 = await new_household(monitoring, 2, members=[
        member(name="韦二", serial=2), member(name="韦小", serial=3, born=date(2010, 5, 1),
                                           relation="之子", labour="无劳动力")])
    rows = [
        [person_id(1), "韦明", "融安二中", "2024-03-01"],
        [person_id(3, date(2010, 5, 1)), "韦小", "融安二中", "2024/03/02"],
        [person_id(3, date(2010, 5, 1)), "韦小", "融安二中", ""],  # same pupil twice: one warning
        [person_id(9), "不在册", "", ""],  # unknown person
        [person_id(1)[:17] + "0" if person_id(1)[17] != "0" else person_id(1)[:17] + "1",
         "错号", "", ""],  # check digit wrong
        [person_id(2), "韦二", "", "2099-01-01"],  # date in the future
    ]
    r = await upload(monitoring, "education.dropout",
                     csv_bytes(["身份证号", "姓名", "学校", "辍学日期", "备注"], rows),
                     headers=EDUCATION)
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["rows_total"], report["rows_invalid"], report["rows_unmatched"],
            report["rows_matched"], report["warnings_raised"]) == (6, 2, 1, 3, 2)
    assert [(i["row"], i["column"]) for i in report["invalid"]] == [
        (6, "第1列（身份证号）"), (7, "第4列（辍学日期）")]
    assert "校验位" in report["invalid"][0]["message"]
    assert "第6行" in report["invalid"][0]["message"]
    assert report["unmatched"][0]["row"] == 5 and report["unmatched"][0]["column"] == "身份证号"

    warnings = (await monitoring.get("/api/v1/warnings", headers=TOWNSHIP)).json()
    assert sorted((w["household_id"], w["risk_type"]) for w in warnings) == sorted(
        [(h1["id"], "因学"), (h2["id"], "因学")])
    pupil = next(w for w in warnings if w["household_id"] == h2["id"])
    assert pupil["reason"] == "县教育局比对：韦小（融安二中）2024-03-02辍学失学"
    assert pupil["verify_due_on"] == (TODAY + timedelta(days=7)).isoformat()
    assert pupil["status"] == "raised" and pupil["row_no"] == 3

    # Next month's file names the same pupils: their warnings are open, none is raised twice.
    again = await upload(monitoring, "education.dropout",
                         csv_bytes(["身份证号", "姓名"], [[person_id(1), "韦明"]]),
                         period="2024-04", headers=EDUCATION)
    assert again.json()["warnings_raised"] == 0 and again.json()["rows_already_open"] == 1
    assert await count(monitoring, RiskWarning.__table__) == 2


async def test_formats_xlsx_and_json_and_gbk_csv(monitoring):
    await new_household(monitoring, 1)
    await new_household(monitoring, 2)
    await new_household(monitoring, 4)
    header = ["公民身份号码", "姓名", "个人自付金额（元）"]
    r = await upload(monitoring, "medical_insurance.high_cost",
                     xlsx_bytes(header, [[person_id(1), "甲", 23000.5], [person_id(2), "乙", "x"]]),
                     filename="医保.xlsx", headers=department("county.medical_insurance"))
    assert r.status_code == 201, r.text
    assert r.json()["warnings_raised"] == 1
    assert r.json()["invalid"][0]["column"] == "第3列（个人自付金额（元））"
    w = (await monitoring.get("/api/v1/warnings?kind=medical_insurance.high_cost",
                              headers=COUNTY)).json()[0]
    assert "23000.50元" in w["reason"]

    r = await upload(monitoring, "health.serious_illness",
                     json_bytes([{"身份证号": person_id(2), "病种": "尿毒症"},
                                 {"身份证号": person_id(4)}]),
                     filename="health.json", headers=department("county.health"))
    assert r.status_code == 201 and r.json()["warnings_raised"] == 2, r.text

    r = await upload(monitoring, "hrss.unemployment",
                     csv_bytes(["身份证号", "姓名"], [[person_id(4), "丁"]], encoding="gb18030"),
                     headers=department("county.hrss"))
    assert r.status_code == 201 and r.json()["warnings_raised"] == 1, r.text


async def test_village_wide_kind_warns_every_target_household_once(monitoring):
    a = await new_household(monitoring, 1)
    b = await new_household(monitoring, 2)
    await new_household(monitoring, 3, village="另一村")
    general = await new_household(monitoring, 4)
    await monitoring.put(f"/api/v1/households/{general['id']}", headers=COUNTY, json={
        "village": "板榄村", "category": "一般农户", "members": [member(serial=4)],
        "revision": general["revision"]})
    rows = [["板榄村", "板榄镇", "暴雨", "橙色"], ["板榄村", "", "山洪", "黄色"],
            ["无此村", "", "暴雨", "蓝色"]]
    r = await upload(monitoring, "meteorology.village_warning",
                     csv_bytes(["村", "乡镇", "预警类型", "预警等级"], rows),
                     headers=department("county.meteorology"))
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["warnings_raised"] == 2 and report["rows_unmatched"] == 1
    assert report["rows_already_open"] == 1  # row 3 falls on households row 2 already warned
    warned = {w["household_id"] for w in (await monitoring.get(
        "/api/v1/warnings", headers=COUNTY)).json()}
    assert warned == {a["id"], b["id"]}


async def test_departments_upload_only_their_own_kind(monitoring):
    await new_household(monitoring, 1)
    before = await state(monitoring)
    body = csv_bytes(["身份证号"], [[person_id(1)]])
    r = await upload(monitoring, "civil_affairs.dibao_new", body, headers=EDUCATION)
    assert r.status_code == 403 and "县民政局" in r.json()["detail"]
    for headers in (TOWNSHIP, VILLAGE):
        assert (await upload(monitoring, "education.dropout", body,
                             headers=headers)).status_code == 403
    assert await state(monitoring) == before
    r = await upload(monitoring, "education.dropout", body, headers=EDUCATION)
    assert r.status_code == 201
    # The department reads its own report, not another department's warnings.
    assert (await monitoring.get(f"/api/v1/warnings/uploads/{r.json()['id']}",
                                 headers=EDUCATION)).status_code == 200
    assert (await monitoring.get(f"/api/v1/warnings/uploads/{r.json()['id']}",
                                 headers=CIVIL)).status_code == 403
    assert len((await monitoring.get("/api/v1/warnings", headers=EDUCATION)).json()) == 1
    assert (await monitoring.get("/api/v1/warnings", headers=CIVIL)).json() == []
    assert (await monitoring.get("/api/v1/warnings", headers=OTHER_TOWNSHIP)).json() == []


async def test_bad_files_are_refused_whole_and_change_nothing(monitoring):
    await new_household(monitoring, 1)
    before = await state(monitoring)
    good = csv_bytes(["身份证号", "姓名"], [[person_id(1), "韦明"]])
    cases = [
        (dict(kind="education.nothing", content=good), ["body", "kind"], "未知的比对数据类别"),
        (dict(kind="education.dropout", content=good, period="2024-13"), ["body", "period"],
         "YYYY-MM"),
        (dict(kind="education.dropout", content=good, period="2024-05"), ["body", "period"],
         "晚于本月"),
        (dict(kind="education.dropout", content=good, filename="data.pdf"), ["body", "file"],
         "无法从文件名"),
        (dict(kind="education.dropout", content=csv_bytes(["姓名", "学校"], [["韦明", "x"]])),
         ["body", "file", 1, "身份证号"], "缺少必填列"),
        (dict(kind="education.dropout", content=csv_bytes(["身份证号", "证件号码"], [["1", "2"]])),
         ["body", "file", 1, 2], "重复"),
        (dict(kind="education.dropout", content=csv_bytes(["身份证号"], [])),
         ["body", "file"], "没有数据行"),
        (dict(kind="education.dropout", content=b""), ["body", "file"], "空"),
        (dict(kind="education.dropout", content=b'[{"x": 1}, 3]', filename="a.json"),
         ["body", "file", 2], "第2条记录不是对象"),
        (dict(kind="education.dropout", content=b'[{"x": 1},', filename="a.json"),
         ["body", "file", 1, 11], "JSON 格式错误"),
        (dict(kind="education.dropout", content=b"not a zip", filename="a.xlsx"),
         ["body", "file"], "无法读取 Excel"),
        (dict(kind="education.dropout", content="\u8eab".encode("utf-16"), filename="a.csv"),
         ["body", "file"], None),
    ]
    for args, loc, fragment in cases:
        r = await upload(monitoring, headers=COUNTY, **args)
        assert r.status_code == 422, (args, r.text)
        detail = r.json()["detail"][0]
        assert detail["loc"] == loc, (args, detail)
        if fragment:
            assert fragment in detail["msg"], detail
    r = await monitoring.post("/api/v1/warnings/uploads", headers=COUNTY,
                              data={"kind": "education.dropout"},
                              files={"file": ("a.csv", good)})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "period"]
    assert await state(monitoring) == before
    # The same file twice is refused as a conflict.
    assert (await upload(monitoring, "education.dropout", good)).status_code == 201
    after = await state(monitoring)
    assert (await upload(monitoring, "education.dropout", good)).status_code == 409
    assert await state(monitoring) == after


async def test_outside_the_system_lists_unmonitored_low_income_people(monitoring):
    monitored = await new_household(monitoring, 1)
    await confirmed_case(monitoring, monitored["id"], TODAY)
    outside = await new_household(monitoring, 2)
    await new_household(monitoring, 3, township="长安镇", village="城东村")
    rows = [[person_id(1), "甲", "低保户"], [person_id(2), "乙", "低保边缘"],
            [person_id(3), "丙", "特困"], [person_id(7), "丁", "低保户"]]
    r = await upload(monitoring, "civil_affairs.low_income",
                     csv_bytes(["身份证号", "姓名", "低收入类型", "乡镇"],
                               [row + (["板榄镇"] if i == 3 else [""])
                                for i, row in enumerate(rows)]),
                     headers=CIVIL)
    assert r.status_code == 201, r.text
    listed = (await monitoring.get("/api/v1/warnings/outside-system", headers=COUNTY)).json()
    assert [(x["name"], x["status"]) for x in listed] == [
        ("丙", "未纳入监测"), ("乙", "未纳入监测"), ("丁", "未登记农户")]  # by township, then row
    township = (await monitoring.get("/api/v1/warnings/outside-system", headers=TOWNSHIP)).json()
    assert [(x["name"], x["household_id"]) for x in township] == [
        ("乙", outside["id"]), ("丁", None)]
    assert "*" not in township[0]["id_number"]
    village = (await monitoring.get("/api/v1/warnings/outside-system", headers=VILLAGE)).json()
    assert [x["name"] for x in village] == ["乙"] and "*" in village[0]["id_number"]
