"""管理: the console's own accounts (people and their units) and, through notifications'
directory API, how each unit is reached."""

from __future__ import annotations

from sqlmodel import select

from fangpin_common.errors import Conflict, DomainError
from fangpin_console.accounts import passwords
from fangpin_console.accounts import service as accounts
from fangpin_console.accounts.models import Account
from fangpin_console.runtime import Console
from fangpin_console.web.session import SignedIn

CONTACTS = (("email", "电子邮箱", "email"), ("mobile", "手机号码（短信）", "tel"),
            ("wecom_webhook", "企业微信群机器人地址", "url"),
            ("dingtalk_webhook", "钉钉群机器人地址", "url"),
            ("webhook_url", "Webhook 地址", "url"))
CHANNELS = (("wecom", "企业微信群机器人"), ("dingtalk", "钉钉群机器人"), ("email", "邮件"),
            ("webhook", "Webhook"), ("sms", "短信"))
LEVELS = {"county": "县级单位", "department": "部门", "township": "乡镇", "village": "村",
          "paired": "帮扶单位"}


async def people(console: Console) -> list[Account]:
    async with console.db.session() as db:
        return list((await db.execute(select(Account).order_by(Account.username))).scalars())


async def add_person(console: Console, admin: SignedIn, username: str, display_name: str,
                     unit: str) -> str:
    """A new account with a one-time password (returned once); changed at first sign-in."""
    password = passwords.one_time_password()
    async with console.db.unit_of_work() as db:
        await accounts.create(db, username=username.strip(),
                              display_name=display_name.strip() or username.strip(),
                              units=[unit] if unit else [], password=password,
                              county=console.county, policy=console.policy, now=console.now(),
                              actor=admin.username, actor_role=admin.role)
    return password


def field_errors(exc: DomainError | Conflict) -> dict[str, str]:
    if isinstance(exc, DomainError):
        return {".".join(str(p) for p in exc.loc[1:]): exc.message}
    return {"username": exc.message}
