"""Households bulk import (X1): CSV and XLSX, errors by row and column, valid_only, template."""

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fangpin_monitoring.changes.models import HouseholdChange
from fangpin_monitoring.households.models import Household, Member

from .conftest import TODAY
from .households_kit import (
    COUNTY,
    HEADERS,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    count,
    csv_bytes,
    events,
    person,
    quiet_app,
    row,
    start,
    state,
    upload,
    xlsx_bytes,
)


@pytest.fixture
async def app(database, nats_server, clock):
    context, client = await start(quiet_app(database, nats_server, clock))
    yield client
    await context.__aexit__(None, None, None)


def good_rows() -> list[dict]:
    return [
        row("1", "韦一", 1, 户联系电话="13800000001", 易地搬迁安置户="是", 家庭住址="板榄村一组"),
        row("1", "覃二", 2, relation="配偶", male=False, 在校生="否", 健康状况="长期慢性病"),
        row("1", "韦三", 3, relation="之子", born=date(2010, 5, 6), 在校生="是",
            劳动能力="无劳动力"),
        row("2", "莫四", 4, category="监测户", 监测对象类别="边缘易致贫户", 整户低保户="是"),
        row("3", "廖五", 5, category="一般农户", 危改户="是", 受灾户="是"),
        # Household columns left blank on a household's later rows.
        row("2", "莫六", 6, relation="配偶", male=False, 健康状况="残疾", 劳动能力="弱劳力",
            township="", village="", category=""),
    ]


async def stored(client) -> dict[str, dict]:
    """Households stored, by head name, with their members."""
    async with client.app.state.db.session() as session:
        households = (await session.execute(select(Household))).scalars().all()
        members = (await session.execute(select(Member))).scalars().all()
    out = {}
    for h in households:
        out[h.head_name] = {"household": h, "members": sorted(
            [m for m in members if m.household_id == h.id], key=lambda m: m.name)}
    return out


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_import_happy_path(app, fmt):
    content = csv_bytes(good_rows()) if fmt == "csv" else xlsx_bytes(good_rows())
    r = await upload(app, content, f"农户.{fmt}")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["format"], report["rows"], report["households"], report["created"],
            report["members"], report["error_count"]) == (fmt, 6, 3, 3, 6, 0)
    households = await stored(app)
    first = households["韦一"]
    assert first["household"].township == "450224103"
    assert first["household"].relocation_site and not first["household"].disaster_hit
    assert first["household"].phone == "13800000001"
    assert [m.name for m in first["members"]] == ["覃二", "韦一", "韦三"]
    son = next(m for m in first["members"] if m.name == "韦三")
    assert son.in_school and son.labour_capacity == "无劳动力"
    assert son.birth_date == date(2010, 5, 6)
    assert next(m for m in first["members"] if m.name == "覃二").health == "长期慢性病"
    monitored = households["莫四"]["household"]
    assert (monitored.category, monitored.monitoring_subcategory) == ("监测户", "边缘易致贫户")
    assert monitored.whole_household_dibao and len(households["莫四"]["members"]) == 2
    assert households["廖五"]["household"].dangerous_house_renovation
    # One event, one audit entry and one change per household.
    upserted = await events(app, "fangpin.monitoring.household.upserted")
    assert sorted(e["data"]["head_name"] for e in upserted) == ["廖五", "莫四", "韦一"]
    assert all("id_number" not in str(e) for e in upserted)
    assert await count(app, HouseholdChange.__table__) == 3
    r = await app.get("/api/v1/households", headers=TOWNSHIP)
    assert len(r.json()) == 3


async def test_gbk_csv_and_xlsx_cells_as_excel_types(app):
    """Excel on Chinese Windows saves CSV in GBK; XLSX cells come as dates and booleans."""
    r = await upload(app, csv_bytes([row("A", "韦一", 1)], encoding="gb18030"))
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    rows = [row("B", "韦二", 2) | {"出生日期": datetime(1980, 1, 1), "在校生": False,
                                  "户联系电话": 13800000002}]
    r = await upload(app, xlsx_bytes(rows, title="融安县农户信息导入表"), "b.xlsx")
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    assert (await stored(app))["韦二"]["household"].phone == "13800000002"
    # Below a title, rows keep the numbers the spreadsheet shows (title 1, blank 2, header 3).
    r = await upload(app, xlsx_bytes([row("C", "韦三", 3, 性别="女")], title="标题"), "c.xlsx")
    assert [(d["row"], d["column"]) for d in r.json()["detail"]] == [(4, "N")]


def bad_rows(existing_id_serial: int) -> list[dict]:
    bad_digit = row("2", "覃错", 12)
    last = bad_digit["身份证号"][17]
    bad_digit["身份证号"] = bad_digit["身份证号"][:17] + ("0" if last != "0" else "1")
    return [
        row("1", "韦一", 11),                                              # row 2: fine
        bad_digit,                                                          # row 3: check digit
        row("3", "莫三", 13) | {"出生日期": "1981-01-01"},                   # row 4: birth date
        row("4", "廖四", 14, township="不存在乡"),                           # row 5: township
        row("5", "黄五", 15, relation="配偶"),                               # row 6: no head
        row("6", "蓝六", 11),                                               # row 7: dup of row 2
        row("7", "梁七", existing_id_serial),                                # row 8: in database
        row("8", "罗八", 18, category="监测户"),                             # row 9: no subcategory
        row("9", "潘九", 19),                                               # row 10: fine
        row("9", "潘十", 20, relation="之子", township="大将镇"),            # row 11: inconsistent
        row("10", "唐十一", 21, 性别="女"),                                   # row 12: sex vs ID
        row("11", "吴十二", 22, 劳动能力="超人", 在校生="也许"),               # row 13: two cells
    ]


EXPECTED = {
    (3, "M", "身份证号", "invalid"),
    (4, "O", "出生日期", "invalid"),
    (5, "B", "乡镇", "unknown_township"),
    (6, "P", "与户主关系", "no_head"),
    (7, "M", "身份证号", "duplicate"),
    (8, "M", "身份证号", "person_in_other_household"),
    (9, "E", "监测对象类别", "invalid"),
    (11, "B", "乡镇", "inconsistent"),
    (12, "N", "性别", "invalid"),
    (13, "Q", "劳动能力", "invalid"),
    (13, "R", "在校生", "invalid"),
}


async def registered(app, serial: int) -> str:
    r = await app.post("/api/v1/households", headers=TOWNSHIP, json={
        "township": "板榄镇", "village": "板榄村", "category": "脱贫户", "members": [
            {"name": "已登记", "relation": "户主", "labour_capacity": "普通劳动力",
             **person(serial)}]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_errors_are_reported_by_row_and_column_and_nothing_is_stored(app):
    existing = await registered(app, 17)
    before = await state(app)
    r = await upload(app, csv_bytes(bad_rows(17)))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert {(d["row"], d["column"], d["header"], d["type"]) for d in detail} == EXPECTED
    by_place = {(d["row"], d["column"]): d for d in detail}
    assert "校验位" in by_place[(3, "M")]["msg"] and by_place[(3, "M")]["msg"].startswith(
        "第 3 行 M 列（身份证号）")
    assert by_place[(3, "M")]["loc"] == ["body", "file", 3, "身份证号"]
    dup = by_place[(7, "M")]["msg"]
    assert "户编号 1" in dup and "户编号 6" in dup and "第 2 行" in dup
    elsewhere = by_place[(8, "M")]["msg"]
    assert existing in elsewhere and "户编号 7" in elsewhere
    assert "第 10 行" in by_place[(11, "B")]["msg"]
    assert await state(app) == before  # nothing stored, no event, no audit, no change


async def test_valid_only_imports_the_clean_households_whole(app):
    await registered(app, 17)
    before_households = await count(app, Household.__table__)
    r = await upload(app, xlsx_bytes(bad_rows(17)), "bad.xlsx", valid_only=True)
    assert r.status_code == 200, r.text
    report = r.json()
    # Only household 1 is clean (9 has an inconsistent second row): it alone is imported.
    assert report["created"] == 1 and report["members"] == 1
    assert sorted(report["skipped_keys"], key=int) == ["2", "3", "4", "5", "6", "7", "8", "9",
                                                      "10", "11"]
    assert report["error_count"] == len(EXPECTED) and len(report["errors"]) == len(EXPECTED)
    assert await count(app, Household.__table__) == before_households + 1
    heads = [e["data"]["head_name"] for e in await events(app,
                                                          "fangpin.monitoring.household.upserted")]
    assert sorted(heads) == sorted(["已登记", "韦一"])


async def test_template_round_trip(app):
    r = await app.get("/api/v1/households/import/template", params={"format": "xlsx"},
                      headers=TOWNSHIP)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    workbook = load_workbook(io.BytesIO(r.content))
    sheet = workbook.worksheets[0]
    assert [c.value for c in sheet[1]] == HEADERS
    assert workbook.sheetnames[1] == "填写说明"
    sheet.append([good_rows()[0].get(h) for h in HEADERS])
    sheet.append([good_rows()[1].get(h) for h in HEADERS])
    out = io.BytesIO()
    workbook.save(out)
    r = await upload(app, out.getvalue(), "filled.xlsx")
    assert r.status_code == 200 and (r.json()["created"], r.json()["members"]) == (1, 2), r.text

    r = await app.get("/api/v1/households/import/template", params={"format": "csv"},
                      headers=TOWNSHIP)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    filled = r.content + csv_bytes([row("X", "莫四", 4)])[len(csv_bytes([])):]
    r = await upload(app, filled)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text


async def test_import_updates_a_registered_household_by_its_id(app):
    existing = await registered(app, 17)
    rows = [row(existing, "已登记", 17, 家庭住址="新地址"),
            row(existing, "新成员", 30, relation="配偶", male=False)]
    r = await upload(app, csv_bytes(rows))
    assert r.status_code == 200 and (r.json()["created"], r.json()["updated"]) == (0, 1), r.text
    r = await app.get(f"/api/v1/households/{existing}", headers=TOWNSHIP)
    assert r.json()["revision"] == 2 and r.json()["address"] == "新地址"
    assert sorted(m["name"] for m in r.json()["members"]) == ["已登记", "新成员"]
    async with app.app.state.db.session() as session:
        origins = (await session.execute(select(HouseholdChange.origin).order_by(
            HouseholdChange.seq))).scalars().all()
    assert origins == ["local", "import"]


async def test_scope_of_an_import(app):
    rows = [row("1", "韦一", 1), row("2", "莫二", 2, township="长安镇")]
    r = await upload(app, csv_bytes(rows), headers=OTHER_TOWNSHIP)
    assert r.status_code == 422
    assert {(d["row"], d["column"], d["type"]) for d in r.json()["detail"]} == {
        (2, "B", "out_of_scope")}
    r = await upload(app, csv_bytes(rows), headers=COUNTY)
    assert r.status_code == 200 and r.json()["created"] == 2


async def test_bad_files_are_refused_with_a_clear_reason(app):
    before = await state(app)
    missing = [h for h in HEADERS if h not in ("身份证号", "户类别")]
    cases = [
        (b"", "x.csv", "文件为空"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.png", "不是 CSV 或 XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls", ".xls"),
        (b"PK\x03\x04 not really a zip", "fake.xlsx", "XLSX"),
        (b"not a zip at all", "fake.xlsx", "XLSX"),
        (csv_bytes([]), "header-only.csv", "没有数据行"),
        (csv_bytes([row("1", "韦一", 1)], headers=missing), "x.csv", "户类别、身份证号"),
        (csv_bytes([row("1", "韦一", 1)], headers=HEADERS + ["姓名"]), "x.csv", "两次"),
    ]
    for content, name, fragment in cases:
        r = await upload(app, content, name)
        assert r.status_code == 422, (name, r.text)
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["body", "file"] and fragment in detail["msg"], (name, detail)
    r = await app.post("/api/v1/households/import", headers=TOWNSHIP)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = await app.get("/api/v1/households/import/template", params={"format": "pdf"},
                      headers=TOWNSHIP)
    assert r.status_code == 422
    assert await state(app) == before
    assert TODAY  # the clock of these tests


async def test_bulk_rows_roll_back_with_their_transaction(app):
    """The import's bulk path (COPY on PostgreSQL) stays inside the request's transaction,
    even when it is the transaction's first statement."""
    from fangpin_common.db import bulk_insert
    from fangpin_common.tables import OUTBOX

    now = app.app.state.clock.now()
    row_ = {"id": "e1", "event_type": "t", "payload": b"{}", "created_at": now,
            "available_at": now, "attempts": 0}
    with pytest.raises(RuntimeError):
        async with app.app.state.db.unit_of_work() as session:
            await bulk_insert(session, OUTBOX, [row_ | {"id": f"r{i}"} for i in range(60)])
            raise RuntimeError("fails after the rows were written")
    assert await count(app, OUTBOX) == 0
    async with app.app.state.db.unit_of_work() as session:
        await bulk_insert(session, OUTBOX, [row_])
    assert await count(app, OUTBOX) == 1
    # A broken constraint surfaces as SQLAlchemy's IntegrityError on both paths.
    many = [row_ | {"id": f"m{i}"} for i in range(60)]  # enough for COPY on PostgreSQL
    for rows in ([row_ | {"id": "e2"}, row_ | {"id": "e2"}], many + [many[0]]):
        with pytest.raises(IntegrityError):
            async with app.app.state.db.unit_of_work() as session:
                await bulk_insert(session, OUTBOX, rows)
    assert await count(app, OUTBOX) == 1


async def test_two_imports_of_the_same_person_at_once(app, backend):
    """Both pass their checks before either commits (PostgreSQL): the second to write meets
    the first's row and is refused whole with 409; SQLite runs them one after the other."""
    import asyncio

    files = [csv_bytes([row("1", "韦一", 1), row("1", f"成员{i}", 40 + i, relation="配偶")])
             for i in range(2)]
    responses = await asyncio.gather(*(upload(app, f) for f in files))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409 if backend == "postgresql" else 422] or codes == [200, 422], [
        r.text for r in responses]
    assert await count(app, Household.__table__) == 1
    assert await count(app, Member.__table__) == 2
    assert len(await events(app, "fangpin.monitoring.household.upserted")) == 1
