"""Journey 4: an administrator adds a person, sets a unit's group-robot URL and sends a test
message that a local HTTP receiver gets."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from playwright.sync_api import expect

from .support import ADMIN, COUNTY, Person, new_page, shoot, sign_in


class Robot(BaseHTTPRequestHandler):
    """A WeCom group robot on this machine: records what it is sent, answers as WeCom does."""

    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Robot.received.append({"path": self.path, "body": json.loads(body)})
        reply = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args) -> None:
        pass


def test_admin_adds_person_and_tests_the_robot(system, browser):
    robot = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    threading.Thread(target=robot.serve_forever, daemon=True).start()
    robot_url = f"http://127.0.0.1:{robot.server_address[1]}/cgi-bin/webhook/send?key=test"
    township_unit = f"township.{COUNTY.township('板榄镇').code}"
    try:
        context, page, guard = new_page(browser, system)
        sign_in(page, ADMIN)

        # A person and their unit; the one-time password is shown once.
        page.get_by_role("link", name="管理").click()
        page.fill("#f-username", "banlan.qin")
        page.fill("#f-display_name", "覃秀梅")
        page.select_option("#f-unit", township_unit)
        page.get_by_role("button", name="添加").click()
        expect(page.locator("#created")).to_contain_text("已添加 覃秀梅")
        password = page.locator(".password-once").inner_text()
        expect(page.locator("#people")).to_contain_text("板榄镇人民政府")
        shoot(page, "j4-people")
        # A username taken already is refused at its field.
        page.fill("#f-username", "banlan.qin")
        page.fill("#f-display_name", "覃秀梅")
        page.select_option("#f-unit", township_unit)
        page.get_by_role("button", name="添加").click()
        expect(page.locator('[data-field="username"] .error')).to_contain_text("已被使用")

        # The unit's group robot, then a test message the robot receives.
        page.get_by_role("link", name="单位联系方式").click()
        page.get_by_role("link", name="板榄镇人民政府").click()
        page.fill("#f-wecom_webhook", "not a url")
        page.get_by_role("button", name="保存").click()
        expect(page.locator('[data-field="wecom_webhook"] .error')).to_be_visible()
        page.fill("#f-wecom_webhook", robot_url)
        page.get_by_role("button", name="保存").click()
        page.wait_for_url(re.compile(r"done=saved"), wait_until="load")
        assert page.locator("#f-wecom_webhook").input_value() == robot_url
        page.locator("#test-messages li", has_text="企业微信群机器人").get_by_role(
            "button", name="发送测试消息").click()
        expect(page.locator('.test-result[data-channel="wecom"]')).to_contain_text("已发送")
        # A channel with no address says so.
        page.locator("#test-messages li", has_text="钉钉群机器人").get_by_role(
            "button", name="发送测试消息").click()
        expect(page.locator('.test-result[data-channel="dingtalk"]')).to_contain_text("尚未设置")
        shoot(page, "j4-unit-robot")
        [got] = Robot.received
        assert got["path"].startswith("/cgi-bin/webhook/send")
        assert "测试消息" in json.dumps(got["body"], ensure_ascii=False)
        assert "板榄镇人民政府" in json.dumps(got["body"], ensure_ascii=False)
        assert not guard.outside
        context.close()

        # The new person signs in with the one-time password and must change it first.
        context, page, guard = new_page(browser, system)
        newcomer = Person("banlan.qin", "覃秀梅", "township", "板榄镇")
        page.goto("/login")
        page.fill('input[name="username"]', newcomer.username)
        page.fill('input[name="password"]', password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/password"))
        shoot(page, "j4-first-sign-in")
        assert not guard.outside
        context.close()
    finally:
        robot.shutdown()
