"""What the journeys share: people, signing in, the outside-request guard, screenshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from fangpin_common.county import load_county
from fangpin_common.testing import COUNTY_CONFIG, REPO_ROOT, token_for

TODAY = date(2024, 4, 26)  # March's monthly visits overdue, April's due soon
SCREENSHOTS = REPO_ROOT / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
COUNTY = load_county(COUNTY_CONFIG)


@dataclass(frozen=True)
class Person:
    username: str
    display_name: str
    role: str
    township: str | None = None  # name
    village: str | None = None
    admin: bool = False

    @property
    def unit(self) -> str:
        if self.role == "village":
            return f"village.{self.village}"
        if self.role == "township":
            return f"township.{self.township_code}"
        return COUNTY.county.lead_unit

    @property
    def township_code(self) -> str | None:
        return COUNTY.township(self.township).code if self.township else None

    @property
    def token(self) -> str:
        """A token of the tests' key for seeding through the APIs (the pages use the
        console's own)."""
        return token_for(self.role, self.township, self.village)


class Guard:
    """Fails the test on any request the page makes outside the console's origin."""

    def __init__(self, console: str) -> None:
        self.origin = console
        self.outside: list[str] = []

    def attach(self, context) -> None:
        def route(r):
            url = r.request.url
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" != self.origin and parts.scheme in (
                    "http", "https", "ws", "wss"):
                self.outside.append(url)
                return r.abort()
            return r.continue_()

        context.route("**/*", route)


def new_page(browser, system, viewport=PHONE):
    context = browser.new_context(viewport=viewport, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", base_url=system.console)
    guard = Guard(system.console)
    guard.attach(context)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page, guard


def shoot(page, name: str) -> None:
    """The page at phone width and at desktop width, under var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(size)


def sign_in(page, person: Person, next_path: str = "/") -> None:
    """Through the sign-in page, as a person does."""
    page.goto(f"/login?next={next_path}")
    page.fill('input[name="username"]', person.username)
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)


PASSWORD = "Fangpin-Browser-2024"
CADRE = Person("banlan.wei", "韦春花", "village", "板榄镇", "板榄村")
TOWNSHIP_CLERK = Person("banlan.lan", "蓝建国", "township", "板榄镇")
OTHER_TOWNSHIP_CLERK = Person("changan.liang", "梁志强", "township", "长安镇")
COUNTY_CLERK = Person("county.huang", "黄丽", "county")
ADMIN = Person("county.admin", "莫管理", "county", admin=True)
PEOPLE = (CADRE, TOWNSHIP_CLERK, OTHER_TOWNSHIP_CLERK, COUNTY_CLERK, ADMIN)
VILLAGES = (("板榄镇", "板榄村"), ("长安镇", "大洲村"))
