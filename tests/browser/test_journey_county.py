"""Journey 3: a county clerk sees the overdue picture by township (chart and table), opens the
monthly employment form, submits it and downloads the XLSX — checked cell by cell against the
plan's 14 columns."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from fangpin_monitoring.households.rules import check_digit

from .support import COUNTY_CLERK, DESKTOP, OTHER_TOWNSHIP_CLERK, TODAY, new_page, shoot, sign_in

COLUMNS = ["序号", "县(区)", "乡(镇)", "村(安置点)", "姓名", "性别", "年龄", "未转移就业人员类型",
           "家庭类型", "是否开展“251”就业帮扶", "开展“251”帮扶是否有台账", "目前转移就业状况",
           "未转移就业原因", "备注"]
PERIOD = f"{TODAY.year}-{TODAY.month:02d}"


def seed_changan(system) -> None:
    """A 脱贫 labourer in 长安镇 whose March visit was missed (overdue on the report day)."""
    first17 = "45022419850505005"
    system.clock.set_today(date(2024, 3, 10))
    try:
        household = system.call("monitoring", "POST", "/api/v1/households",
                                OTHER_TOWNSHIP_CLERK.token, json={
                                    "township": "长安镇", "village": "大洲村",
                                    "category": "脱贫户", "members": [{
                                        "name": "梁大勇", "id_number": first17 + check_digit(first17),
                                        "sex": "男", "birth_date": "1985-05-05", "relation": "户主",
                                        "labour_capacity": "普通劳动力"}]})
        system.call("monitoring", "POST", "/api/v1/grid-areas", OTHER_TOWNSHIP_CLERK.token,
                    json={"township": "长安镇", "village": "大洲村", "name": "大洲村第一网格",
                          "worker_name": "梁志强", "household_ids": [household["id"]]})
    finally:
        system.clock.set_today(TODAY)
    system.eventually(lambda: [lab for lab in system.call(
        "employment", "GET", "/api/v1/labourers", COUNTY_CLERK.token,
        params={"township": "长安镇"}) if lab["name"] == "梁大勇"])


def test_county_overdue_chart_and_monthly_form(system, browser):
    seed_changan(system)
    context, page, guard = new_page(browser, system, viewport=DESKTOP)
    sign_in(page, COUNTY_CLERK)

    # The overdue picture: a chart drawn by the console's own Chart.js, and its table, which
    # agrees with the monitoring report.
    page.get_by_role("link", name="报表").click()
    expect(page.locator("#overdue-chart[data-drawn=true]")).to_have_count(1)
    report = system.call("monitoring", "GET", "/api/v1/reports/monitoring", COUNTY_CLERK.token,
                         params={"from": f"{TODAY.year}-01-01", "to": TODAY.isoformat()})
    expected = {r["township_name"]: sum(d["open_overdue"] for d in r["deadlines"])
                for r in report["rows"] if r["level"] == "township"}
    assert expected["长安镇"] >= 1
    # Every township of the county has its line, those with nothing due too.
    assert page.locator("#overdue-table tbody tr").count() == 12
    for name, overdue in expected.items():
        row = page.locator("#overdue-table tbody tr", has=page.locator(f"td:text-is('{name}')"))
        assert int(row.locator("td").nth(1).inner_text()) == overdue, name
    shoot(page, "j3-overdue-chart")

    # The monthly form: rows generated from the records, submitted, downloaded.
    page.get_by_role("link", name="就业").click()
    expect(page.locator("#form-rows")).to_contain_text("梁大勇")
    headers = page.locator("#form-rows thead th").all_inner_texts()
    assert headers == COLUMNS
    page.fill("#f-contact", "0772-8123456")
    page.get_by_role("button", name=f"报送{PERIOD}统计表").click()
    page.wait_for_url(re.compile(r"done=submitted"))
    expect(page.locator("#submissions")).to_contain_text("第 1 版")
    shoot(page, "j3-employment-form")
    with page.expect_download() as info:
        page.locator("#submissions").get_by_role("link", name="下载 Excel").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(BytesIO(Path(download.path()).read_bytes())).active

    # Cell by cell: the header row is the plan's 14 columns; every data row is the submitted
    # version's row, and the seeded labourer's row says what the records say.
    submitted = system.call("employment", "GET", f"/api/v1/forms/{PERIOD}/submissions",
                            COUNTY_CLERK.token)
    county_version = [s for s in submitted if s["level"] == "county"][-1]
    assert county_version["filler"] == COUNTY_CLERK.display_name
    rows = system.call("employment", "GET", f"/api/v1/forms/submissions/{county_version['id']}",
                       COUNTY_CLERK.token)["rows"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_at = next(i for i, r in enumerate(values) if list(r[:14]) == COLUMNS)
    body = values[header_at + 1: header_at + 1 + len(rows)]
    assert len(body) == len(rows) >= 1
    for got, want in zip(body, rows, strict=True):
        assert [("" if c is None else c) for c in got[:14]] == [
            ("" if c is None else c) for c in want]
    [liang] = [r for r in body if r[4] == "梁大勇"]
    assert list(liang[1:11]) == ["融安县", "长安镇", "大洲村", "梁大勇", "男", 38, "其他",
                                 "脱贫户", "否", "否"]
    assert liang[11].startswith("未就业")
    assert not guard.outside
    context.close()
