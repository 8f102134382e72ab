"""Journey 1: a village cadre on a phone signs in, sees what is due, registers a household (a
wrong check digit is shown at the field), and records a visit that finds a risk."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from fangpin_monitoring.households.rules import check_digit

from .support import CADRE, COUNTY_CLERK, TODAY, new_page, shoot, sign_in

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def resident_id(first17: str) -> str:
    return first17 + check_digit(first17)


def seed_due_items(system) -> None:
    """Two grid households the village visits monthly: March's visits were missed (overdue),
    April's fall due on the 30th (due soon)."""
    def household(name: str, first17: str) -> str:
        return system.call("monitoring", "POST", "/api/v1/households", CADRE.token, json={
            "township": CADRE.township, "village": CADRE.village, "category": "脱贫户",
            "address": "三组", "members": [{
                "name": name, "id_number": resident_id(first17), "sex": "男",
                "birth_date": f"{first17[6:10]}-{first17[10:12]}-{first17[12:14]}",
                "relation": "户主", "labour_capacity": "普通劳动力"}]})["id"]

    system.clock.set_today(date(2024, 3, 10))
    ids = [household("覃老大", "45022419700303003"), household("蓝二哥", "45022419750505005")]
    system.call("monitoring", "POST", "/api/v1/grid-areas", CADRE.token, json={
        "township": CADRE.township, "village": CADRE.village, "name": "板榄村第三网格",
        "worker_name": CADRE.display_name, "household_ids": ids})
    system.clock.set_today(TODAY)
    system.call("monitoring", "POST", "/admin/visits/open-deadlines", COUNTY_CLERK.token)
    system.call("monitoring", "POST", "/admin/deadlines/scan", COUNTY_CLERK.token)

    def due():
        inbox = system.call("notifications", "GET", "/api/v1/inbox", CADRE.token)
        return {"visit.overdue", "visit.due_soon"} <= {
            r["event_type"].removeprefix("fangpin.monitoring.") for r in inbox}

    system.eventually(due)


def test_village_cadre_registers_and_visits(system, browser):
    seed_due_items(system)
    context, page, guard = new_page(browser, system)
    sign_in(page, CADRE)

    # What is due: counts, lists by kind, households named by their head, never an id.
    assert int(page.locator("#count-overdue").inner_text()) >= 1
    assert int(page.locator("#count-due-soon").inner_text()) >= 1
    assert "走访" in page.locator("#due-by-kind").inner_text()
    overdue = page.locator("#overdue").inner_text()
    assert "覃老大户" in overdue and "三组" in overdue
    assert "蓝二哥户" in page.locator("#due-soon").inner_text()
    assert not UUID.search(page.locator("main").inner_text())
    shoot(page, "j1-workbench")

    # The inbox: acknowledge one reminder in place (htmx, with the CSRF header).
    page.get_by_role("link", name="提醒").first.click()
    first = page.locator("li.reminder").first
    first.get_by_role("button", name="确认收到").click()
    page.wait_for_selector("li.reminder .tag.acknowledged")
    shoot(page, "j1-reminders")

    # Register: a wrong check digit is caught as it is typed, and by the service on submit.
    page.goto("/households")
    page.get_by_role("link", name="＋ 登记农户").click()
    page.select_option("#f-category", "脱贫户")
    page.fill("#f-address", "五组12号")
    page.fill("#f-members\\.0\\.name", "韦明")
    good = resident_id("45022419800101001")
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    page.fill("#f-members\\.0\\.id_number", wrong)
    field = page.locator('[data-field="members.0.id_number"]')
    assert f"校验位错误：应为 {good[17]}" in field.locator(".error").inner_text()
    # Sex and birth date come from the number only once it is valid.
    page.select_option("#f-members\\.0\\.labour_capacity", "普通劳动力")
    page.select_option("#f-members\\.0\\.sex", "男")
    page.fill("#f-members\\.0\\.birth_date", "1980-01-01")
    shoot(page, "j1-register-wrong-id")
    page.get_by_role("button", name="登记").click()
    page.wait_for_load_state("load")  # the re-rendered form's scripts run before typing
    server_error = page.locator('[data-field="members.0.id_number"] .error:not([data-local])')
    assert f"应为 {good[17]}" in server_error.inner_text()
    page.fill("#f-members\\.0\\.id_number", good)
    expect(page.locator('[data-field="members.0.id_number"] .error:visible')).to_have_count(0)
    page.get_by_role("button", name="登记").click()
    page.wait_for_url(re.compile(r"/households/[^/]+\?done=registered"))
    assert "农户已登记" in page.locator(".notice").inner_text()
    assert "韦明户" in page.locator("h1").inner_text()
    # A village person sees the resident ID masked, as the service returns it.
    assert good not in page.content() and good[:6] in page.locator("#members").inner_text()
    shoot(page, "j1-household")

    # A visit that finds a risk: the ledger has it, and a warning waits for the township.
    page.get_by_role("link", name="记录走访").click()
    page.fill("#f-living_conditions", "户主务工受伤，暂无收入")
    page.check('input[name="risk_found"][value="true"]')
    page.check('input[name="risk_types"][value="因意外事故"]')
    page.fill("#f-notes", "户主3月务工摔伤，医疗费用约2万元")
    shoot(page, "j1-visit")
    page.get_by_role("button", name="保存走访").click()
    page.wait_for_url(re.compile(r"\?done=risk"))
    assert "预警" in page.locator(".notice").inner_text()
    assert "因意外事故" in page.locator("#visits").inner_text()
    timeline = page.locator("#timeline").inner_text()
    assert "风险预警" in timeline and "待核实" in timeline
    assert not UUID.search(page.locator("main").inner_text())
    shoot(page, "j1-household-after-visit")
    assert not guard.outside
    context.close()
