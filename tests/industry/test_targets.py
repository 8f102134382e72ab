"""County production targets (I1, I7): reports by responsible units, progress, XLSX."""

from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from fangpin_common.tables import AUDIT_LOG, OUTBOX
from fangpin_common.testing import auth, token_for
from fangpin_industry.targets.models import TargetReport

from .conftest import AGRICULTURE, BANLAN_TOWN, CHANGAN_TOWN, CIVIL_AFFAIRS, COUNTY, FORESTRY, count

METEOROLOGY = auth(token_for("department", unit="county.meteorology",
                             department="county.meteorology"))


async def post(client, code, headers, period, value, note=None):
    return await client.post(f"/api/v1/targets/{code}/reports", headers=headers,
                             json={"period": period, "value": value, "note": note})


async def test_targets_carry_their_units(industry):
    targets = (await industry.get("/api/v1/targets", headers=COUNTY)).json()
    grain = next(t for t in targets if t["code"] == "grain_area")
    assert grain["target"] == "270100" and grain["unit"] == "亩"
    assert grain["lead"] == {"code": "county.agriculture", "name": "县农业农村局"}
    names = [u["name"] for u in grain["responsible"]]
    assert names[0] == "县气象局" and "板榄镇人民政府" in names and len(names) == 13
    oil_tea = next(t for t in targets if t["code"] == "oil_tea_new")
    assert oil_tea["lead"]["name"] == "县林业局"
    # a department that answers for no target sees none
    assert (await industry.get("/api/v1/targets", headers=CIVIL_AFFAIRS)).json() == []
    mine = (await industry.get("/api/v1/targets", headers=METEOROLOGY)).json()
    assert [t["code"] for t in mine] == ["grain_area", "grain_output"]


async def test_progress_from_the_units_reports(industry):
    r = await post(industry, "grain_area", BANLAN_TOWN, "2024-02", "10000.5")
    assert r.status_code == 201
    r = await post(industry, "grain_area", BANLAN_TOWN, "2024-03", "21000.25")
    assert r.status_code == 201 and r.json()["unit_name"] == "板榄镇人民政府"
    assert (await post(industry, "grain_area", CHANGAN_TOWN, "2024-Q1", 30000)).status_code == 201
    # a correction of the same period replaces the figure and is audited
    r = await post(industry, "grain_area", CHANGAN_TOWN, "2024-Q1", "29999.75", "更正")
    assert r.json()["revision"] == 2 and r.json()["value"] == "29999.75"
    await post(industry, "crop_mechanisation", BANLAN_TOWN, "2024-03", "80")
    await post(industry, "crop_mechanisation", AGRICULTURE, "2024-03", "72.5")
    await post(industry, "oil_tea_new", FORESTRY, "2024-03", "16000")

    rows = {p["code"]: p for p in (await industry.get("/api/v1/targets/progress",
                                                      headers=COUNTY)).json()}
    grain = rows["grain_area"]
    assert Decimal(grain["achieved"]) == Decimal("51000.00")  # 21000.25 + 29999.75
    assert grain["percent"] == "18.88" and grain["met"] is False
    assert {f["unit"]: f["period"] for f in grain["reported"]} == {
        "township.450224103": "2024-03", "township.450224100": "2024-Q1"}
    assert len(grain["not_reported"]) == 12  # the bureau, meteorology and ten townships
    mech = rows["crop_mechanisation"]
    assert mech["achieved"] == "72.5" and mech["met"] is True  # the lead's county figure
    assert rows["oil_tea_new"]["met"] is True and rows["oil_tea_new"]["percent"] == "106.67"
    assert rows["vegetable_output"]["achieved"] is None

    # as of February only the February report counts
    early = {p["code"]: p for p in (await industry.get(
        "/api/v1/targets/progress", params={"as_of": "2024-02"}, headers=COUNTY)).json()}
    assert early["grain_area"]["achieved"] == "10000.5"

    # a township sees the county figure and only its own line
    own = {p["code"]: p for p in (await industry.get("/api/v1/targets/progress",
                                                     headers=BANLAN_TOWN)).json()}
    assert own["grain_area"]["achieved"] == grain["achieved"]
    assert [f["unit"] for f in own["grain_area"]["reported"]] == ["township.450224103"]
    assert (await industry.get("/api/v1/targets/grain_area/reports",
                               headers=BANLAN_TOWN)).json()[0]["unit"] == "township.450224103"
    assert len((await industry.get("/api/v1/targets/grain_area/reports",
                                   headers=COUNTY)).json()) == 3

    r = await industry.get("/api/v1/targets/progress.xlsx", headers=AGRICULTURE)
    assert r.status_code == 200
    ws = load_workbook(BytesIO(r.content)).active
    assert "2024年重要农产品生产目标任务完成情况" in ws["A1"].value
    assert [c.value for c in ws[2]][:7] == ["序号", "指标", "计量单位", "目标值", "完成值",
                                            "完成率(%)", "是否达标"]
    first = [c.value for c in ws[3]]
    assert first[1] == "粮食播种面积" and Decimal(str(first[4])) == Decimal("51000")
    assert first[6] == "否" and first[7] == "县农业农村局"
    assert ws.max_row == 2 + 14


async def test_only_the_targets_units_report_and_bad_input_stores_nothing(industry):
    # not a unit of the target
    assert (await post(industry, "grain_area", FORESTRY, "2024-03", "1")).status_code == 403
    assert (await post(industry, "grain_area", COUNTY, "2024-03", "1")).status_code == 403
    assert (await post(industry, "no_such", AGRICULTURE, "2024-03", "1")).status_code == 404
    cases = [
        (("grain_area", "2024-13", "1"), ["body", "period"], "格式不对"),
        (("grain_area", "2024-05", "1"), ["body", "period"], "尚未开始"),
        (("grain_area", "2023-12", "1"), ["body", "period"], "不在指标年度"),
        (("grain_area", "2024-03", "-5"), ["body", "value"], "不能为负数"),
        (("grain_area", "2024-03", "1.23456"), ["body", "value"], None),
        (("grain_area", "2024-03", "abc"), ["body", "value"], None),
    ]
    for (code, period, value), loc, fragment in cases:
        r = await post(industry, code, AGRICULTURE, period, value)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["loc"] == loc, detail
        if fragment:
            assert fragment in detail["msg"]
    r = await industry.get("/api/v1/targets/progress", params={"as_of": "Q1"}, headers=COUNTY)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "as_of"]
    assert await count(industry, TargetReport.__table__) == 0
    assert await count(industry, OUTBOX) == 0
    assert await count(industry, AUDIT_LOG) == 0
