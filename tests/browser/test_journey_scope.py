"""Journey 5: a township clerk cannot see another township's household by editing the URL."""

from __future__ import annotations

import re

from fangpin_monitoring.households.rules import check_digit

from .support import OTHER_TOWNSHIP_CLERK, TOWNSHIP_CLERK, new_page, shoot, sign_in


def test_other_township_household_stays_hidden(system, browser):
    first17 = "45022419900909008"  # 17th digit even: female
    household = system.call("monitoring", "POST", "/api/v1/households", TOWNSHIP_CLERK.token,
                            json={"township": "板榄镇", "village": "板榄村", "category": "监测户",
                                  "monitoring_subcategory": "边缘易致贫户", "members": [{
                                      "name": "罗秀英", "id_number": first17 + check_digit(first17),
                                      "sex": "女", "birth_date": "1990-09-09", "relation": "户主",
                                      "labour_capacity": "弱劳力"}]})
    context, page, guard = new_page(browser, system)
    sign_in(page, OTHER_TOWNSHIP_CLERK)
    response = page.goto(f"/households/{household['id']}")
    assert response.status in (403, 404)
    text = page.locator("main").inner_text()
    assert "罗秀英" not in page.content() and household["id"] not in text
    assert "无权" in text or "没有找到" in text
    shoot(page, "j5-other-township")
    for path in (f"/households/{household['id']}/visits/new",):
        response = page.goto(path)
        assert response.status in (403, 404) and "罗秀英" not in page.content()
    # Nor does the household show up in a search of their own area.
    page.goto("/households?q=罗秀英")
    assert "罗秀英" not in page.locator("#households, main").first.inner_text() or \
        "没有找到" in page.locator("main").inner_text()
    # Links edited by hand answer in Chinese, never with JSON or an English error.
    for path, words in (("/reminders?state=bogus", "参数有误"), ("/no-such-page", "没有找到"),
                        ("/cases/no-such-case", "不存在")):
        response = page.goto(path)
        assert response.status in (404, 422), path
        assert words in page.locator("main").inner_text(), path
    assert not guard.outside
    context.close()

    # Its own township sees it.
    context, page, guard = new_page(browser, system)
    sign_in(page, TOWNSHIP_CLERK)
    page.goto(f"/households/{household['id']}")
    assert "罗秀英户" in page.locator("h1").inner_text()
    # …and corrects it: the whole household goes back with the ETag read for the form.
    page.get_by_role("link", name="修改户信息").click()
    assert page.locator("#f-members\\.0\\.name").input_value() == "罗秀英"
    page.fill("#f-address", "八组3号")
    page.check('input[name="disaster_hit"][value="true"]')
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"done=saved"))
    facts = page.locator("dl.facts").first.inner_text()
    assert "八组3号" in facts and "受灾" in facts
    shoot(page, "j5-household-edited")
    saved = system.call("monitoring", "GET", f"/api/v1/households/{household['id']}",
                        TOWNSHIP_CLERK.token)
    assert saved["revision"] == household["revision"] + 1
    assert [m["labour_capacity"] for m in saved["members"]] == ["弱劳力"]
    assert not guard.outside
    context.close()
