"""Journey 2: a township clerk verifies a warning, walks the identification steps, the county
confirms, the township assigns a helper — and the helper reminder shows as resolved."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from playwright.sync_api import expect

from fangpin_monitoring.households.rules import check_digit

from .support import (
    CADRE,
    COUNTY_CLERK,
    DESKTOP,
    TODAY,
    TOWNSHIP_CLERK,
    new_page,
    shoot,
    sign_in,
)


def seed_warning(system) -> str:
    """A household and the risk a visit found (what journey 1 leaves, made here by API)."""
    first17 = "45022419650606006"
    household = system.call("monitoring", "POST", "/api/v1/households", CADRE.token, json={
        "township": "板榄镇", "village": "板榄村", "category": "脱贫户", "address": "六组",
        "members": [{"name": "潘桂兰", "id_number": first17 + check_digit(first17),
                     "sex": "女" if int(first17[16]) % 2 == 0 else "男",
                     "birth_date": "1965-06-06", "relation": "户主",
                     "labour_capacity": "弱劳力"}]})
    system.call("monitoring", "POST", "/api/v1/warnings", CADRE.token, json={
        "household_id": household["id"], "source": "入户走访", "risk_type": "因病",
        "reason": "户主确诊慢性肾病，每月透析费用约3000元"})
    return household["id"]


def record(page, step_name: str, fill=None) -> None:
    expect(page.locator("#step h2")).to_contain_text(step_name)
    page.fill("#f-people", "蓝建国、韦春花")
    if fill:
        fill(page)
    page.get_by_role("button", name=f"记录{step_name}").click()
    page.wait_for_url(re.compile(r"done=(step|confirmed)"))
    expect(page.locator("#steps")).to_contain_text(f"{step_name}：通过")


def test_township_verifies_identifies_and_assigns_helper(system, browser):
    seed_warning(system)
    context, page, guard = new_page(browser, system, viewport=DESKTOP)
    sign_in(page, TOWNSHIP_CLERK)

    # The warning to verify, named by its household.
    page.get_by_role("link", name="风险预警").click()
    page.get_by_role("link", name=re.compile("潘桂兰户")).click()
    shoot(page, "j2-warning")
    page.select_option("#f-category", "边缘易致贫户")
    page.get_by_role("button", name="提交核实结论").click()
    page.wait_for_url(re.compile(r"/identifications/.+done=started"))
    ident_url = page.url.split("?")[0]

    # The procedure step by step; a home check without the household's signatures is refused
    # at the field the service names.
    record(page, "村级风险研判")
    page.fill("#f-people", "蓝建国、韦春花")
    page.get_by_role("button", name="记录入户核查").click()
    expect(page.locator('[data-field="application_signed"] .error')).to_contain_text("签字")
    shoot(page, "j2-home-check-refused")
    record(page, "入户核查", lambda p: (p.check('input[name="application_signed"][value="true"]'),
                                       p.check('input[name="data_query_authorised"]'
                                               '[value="true"]')))
    record(page, "信息比对", lambda p: p.fill("#f-findings", "医保、民政、公安比对无异常"))
    record(page, "民主评议和公示", lambda p: p.fill("#f-votes_for", "11"))
    record(page, "乡镇审核")
    # County confirmation is the county's: the township is told so, in Chinese.
    page.fill("#f-people", "蓝建国")
    page.get_by_role("button", name="记录县级确认").click()
    expect(page.locator("#step .alert")).to_contain_text("由县级办理")
    shoot(page, "j2-identification-township")
    assert not guard.outside
    context.close()

    # The county confirms: the case opens with today as its inclusion date.
    context, page, guard = new_page(browser, system)
    sign_in(page, COUNTY_CLERK)
    page.get_by_role("link", name="识别纳入").click()
    page.get_by_role("link", name=re.compile("潘桂兰户")).click()
    assert page.url.split("?")[0] == ident_url
    record(page, "县级确认")
    expect(page.locator(".notice")).to_contain_text("县级已确认")
    shoot(page, "j2-identification-confirmed")
    page.get_by_role("link", name="查看监测帮扶").click()
    case_url = page.url.split("?")[0]
    expect(page.locator("#deadlines")).to_contain_text("安排帮扶责任人")
    assert not guard.outside
    context.close()

    # Four days on, the helper is due tomorrow: the township's reminder.
    try:
        system.clock.set_today(TODAY + timedelta(days=4))
        system.call("monitoring", "POST", "/admin/deadlines/scan", COUNTY_CLERK.token)
        system.eventually(lambda: [r for r in system.call(
            "notifications", "GET", "/api/v1/inbox", TOWNSHIP_CLERK.token)
            if r["event_type"].endswith("helper_due_soon")])

        context, page, guard = new_page(browser, system)
        sign_in(page, TOWNSHIP_CLERK)
        due = page.locator("#due-soon")
        expect(due).to_contain_text("潘桂兰户")
        expect(due).to_contain_text("安排帮扶责任人")
        shoot(page, "j2-workbench-helper-due")
        due.get_by_role("link", name=re.compile("潘桂兰户")).first.click()
        assert page.url.split("?")[0] == case_url
        page.fill("#f-name", "黄帮扶")
        page.fill("#f-phone", "13907720001")
        page.get_by_role("button", name="安排").click()
        expect(page.locator(".notice")).to_contain_text("帮扶责任人已安排")
        expect(page.locator("#helpers")).to_contain_text("黄帮扶")
        shoot(page, "j2-case-helper")

        # The reminder is resolved once the assignment reaches notifications.
        deadline = time.monotonic() + 20
        while True:
            page.goto("/reminders?state=resolved")
            items = page.locator("li.reminder", has_text="潘桂兰户")
            if items.count() and "安排帮扶责任人" in items.first.inner_text():
                break
            assert time.monotonic() < deadline, "helper reminder not resolved"
            time.sleep(0.3)
        expect(items.first.locator(".tag.resolved")).to_have_text("已办结")
        shoot(page, "j2-reminder-resolved")
        page.goto("/")
        expect(page.locator("#due-soon")).not_to_contain_text("潘桂兰户")
        # The household's page tells the whole story.
        page.goto(case_url)
        page.locator("dl.facts a").first.click()
        expect(page.locator("main")).to_contain_text("黄帮扶")
        timeline = page.locator("#timeline")
        for what in ("风险预警", "县级确认：通过", "纳入监测", "安排帮扶责任人"):
            expect(timeline).to_contain_text(what)
        shoot(page, "j2-household-story")
        assert not guard.outside
        context.close()
    finally:
        system.clock.set_today(TODAY)
