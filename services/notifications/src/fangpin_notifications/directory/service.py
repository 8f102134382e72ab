"""The directory in the database: seeded from the county file, edited through the API.

Never commits (except `seed`, which runs in its own unit of work at start).
"""

from __future__ import annotations

import time
from datetime import datetime
from uuid import NAMESPACE_URL, uuid5
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, revisions
from fangpin_common.auth import Principal
from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_notifications.channels.base import ChannelError, Message
from fangpin_notifications.directory import rules
from fangpin_notifications.directory.models import (
    CONTACT_FIELDS,
    DirectoryPerson,
    DirectoryUnit,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    TestResult,
    UnitCreate,
    UnitRead,
    UnitUpdate,
)


def person_id(unit: str, name: str) -> str:
    """Seeded people get a stable id, so a restart finds them again."""
    return str(uuid5(NAMESPACE_URL, f"fangpin:person:{unit}:{name}"))


async def seed(session: AsyncSession, county: County, now: datetime) -> int:
    """Insert the county file's units and people that are missing; refresh those nobody
    edited. Returns how many rows changed."""
    units = {u.code: u for u in (await session.exec(select(DirectoryUnit))).all()}
    people = {p.id: p for p in (await session.exec(select(DirectoryPerson))).all()}
    changed = 0
    for unit in county.all_units():
        values = unit.model_dump(exclude={"people"})
        row = units.get(unit.code)
        if row is None:
            session.add(DirectoryUnit(**values, source="config", created_at=now, updated_at=now))
            changed += 1
        elif row.source == "config" and row.edited_at is None and any(
                getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
            row.revision += 1
            session.add(row)
            changed += 1
        for person in unit.people:
            pid = person_id(unit.code, person.name)
            values = person.model_dump() | {"unit_code": unit.code}
            prow = people.get(pid)
            if prow is None:
                session.add(DirectoryPerson(id=pid, **values, source="config", created_at=now,
                                            updated_at=now))
                changed += 1
            elif prow.edited_at is None and any(getattr(prow, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(prow, k, v)
                prow.updated_at = now
                prow.revision += 1
                session.add(prow)
                changed += 1
    await session.flush()
    return changed


async def snapshot(session: AsyncSession, lead_unit: str) -> rules.Directory:
    units = (await session.exec(select(DirectoryUnit))).all()
    people: dict[str, list[dict]] = {}
    for p in (await session.exec(select(DirectoryPerson))).all():
        people.setdefault(p.unit_code, []).append(p.model_dump())
    entries = {}
    for u in units:
        secrets = {k: v for k, v in (("dingtalk", u.dingtalk_secret),
                                     ("webhook", u.webhook_secret)) if v}
        entries[u.code] = rules.Entry(
            code=u.code, name=u.name, level=u.level, parent=u.parent, township=u.township,
            active=u.active, addresses=rules.addresses_of(u.model_dump(), people.get(u.code, [])),
            secrets=secrets)
    return rules.Directory(entries, lead_unit)


class DirectoryCache:
    """The directory snapshot, re-read after `ttl` seconds or after a local edit."""

    def __init__(self, db, county: County, ttl: float) -> None:
        self.db = db
        self.county = county
        self.ttl = ttl
        self._snapshot: rules.Directory | None = None
        self._read_at = 0.0
        self.seeded = False

    def invalidate(self) -> None:
        self._snapshot = None

    async def ensure_seeded(self, now: datetime) -> None:
        if self.seeded:
            return
        for _ in range(3):
            try:
                async with self.db.unit_of_work() as session:
                    await seed(session, self.county, now)
                break
            except IntegrityError:
                continue  # another replica seeded the same rows at the same moment
        self.seeded = True
        self.invalidate()

    async def get(self, session: AsyncSession | None = None) -> rules.Directory:
        """The snapshot; re-read through `session` when given (a caller inside a transaction
        must not open a second one: on SQLite it would wait for its own lock)."""
        if self._snapshot is None or time.monotonic() - self._read_at > self.ttl:
            lead = self.county.county.lead_unit
            if session is not None:
                self._snapshot = await snapshot(session, lead)
            else:
                async with self.db.session() as own:
                    self._snapshot = await snapshot(own, lead)
            self._read_at = time.monotonic()
        return self._snapshot


# -- API --------------------------------------------------------------------------------------
def unit_read(unit: DirectoryUnit, people: list[DirectoryPerson]) -> UnitRead:
    data = unit.model_dump()
    return UnitRead(**data, has_dingtalk_secret=bool(unit.dingtalk_secret),
                    has_webhook_secret=bool(unit.webhook_secret),
                    people=[PersonRead(**p.model_dump()) for p in people])


def _check_contacts(values: dict) -> None:
    for name, problem in rules.contact_problems(values):
        raise DomainError(name, problem, "invalid_contact")


async def _parents(session: AsyncSession) -> dict[str, str | None]:
    return {code: parent for code, parent in
            (await session.exec(select(DirectoryUnit.code, DirectoryUnit.parent))).all()}


async def list_units(session: AsyncSession, level: str | None, township: str | None
                     ) -> list[UnitRead]:
    query = select(DirectoryUnit).order_by(DirectoryUnit.code)
    if level:
        query = query.where(DirectoryUnit.level == level)
    if township:
        query = query.where(DirectoryUnit.township == township)
    units = (await session.exec(query)).all()
    people: dict[str, list[DirectoryPerson]] = {}
    for p in (await session.exec(select(DirectoryPerson).order_by(DirectoryPerson.name))).all():
        people.setdefault(p.unit_code, []).append(p)
    return [unit_read(u, people.get(u.code, [])) for u in units]


async def get_unit(session: AsyncSession, code: str) -> UnitRead:
    unit = await session.get(DirectoryUnit, code)
    if unit is None:
        raise NotFound(f"单位 {code} 不存在")
    people = (await session.exec(select(DirectoryPerson).where(DirectoryPerson.unit_code == code)
                                 .order_by(DirectoryPerson.name))).all()
    return unit_read(unit, list(people))


def _audit_view(row) -> dict:
    data = row.model_dump(mode="json")
    for secret in ("dingtalk_secret", "webhook_secret"):
        if data.get(secret):
            data[secret] = "***"
    return data


async def create_unit(session: AsyncSession, body: UnitCreate, principal: Principal,
                      now: datetime) -> UnitRead:
    if await session.get(DirectoryUnit, body.code) is not None:
        raise Conflict(f"单位 {body.code} 已存在")
    values = body.model_dump()
    _check_contacts(values)
    if problem := rules.parent_problem(body.code, body.parent, await _parents(session)):
        raise DomainError("parent", problem, "unreachable_unit")
    unit = DirectoryUnit(**values, source="api", created_at=now, updated_at=now, edited_at=now)
    session.add(unit)
    await session.flush()
    await audit.record(session, principal, entity_type="unit", entity_id=unit.code,
                       action="created", before=None, after=_audit_view(unit), now=now)
    return unit_read(unit, [])


# How a 412 names what another person changed.
CONTACT_LABELS = {"email": "电子邮箱", "mobile": "手机", "wecom_webhook": "企业微信机器人",
                  "dingtalk_webhook": "钉钉机器人", "dingtalk_secret": "钉钉加签密钥",
                  "webhook_url": "回调地址", "webhook_secret": "回调密钥", "active": "启用",
                  "name": "名称"}
UNIT_LABELS = CONTACT_LABELS | {"level": "层级", "parent": "上级单位", "township": "乡镇",
                                "village": "村"}
PERSON_LABELS = CONTACT_LABELS | {"name": "姓名", "title": "职务", "unit_code": "所在单位"}


async def update_unit(session: AsyncSession, code: str, body: UnitUpdate, principal: Principal,
                      now: datetime, expected: int) -> UnitRead:
    """Changes based on revision `expected`: 412 if the unit changed since."""
    await revisions.claim(session, DirectoryUnit, code, expected, label="单位", key_column="code",
                          audit=("unit", code), labels=UNIT_LABELS)
    unit = await session.get(DirectoryUnit, code, populate_existing=True)
    changes = body.model_dump(exclude_unset=True, exclude={"revision"})
    for name in ("name", "level", "active"):
        if name in changes and changes[name] is None:
            raise DomainError(name, "不能为空", "required")
    _check_contacts(changes)
    if "parent" in changes and (problem := rules.parent_problem(code, changes["parent"],
                                                                await _parents(session))):
        raise DomainError("parent", problem, "unreachable_unit")
    before = _audit_view(unit) | {"revision": expected}
    for k, v in changes.items():
        setattr(unit, k, v)
    unit.updated_at = unit.edited_at = now
    session.add(unit)
    await session.flush()
    await audit.record(session, principal, entity_type="unit", entity_id=code, action="updated",
                       before=before, after=_audit_view(unit), now=now)
    return await get_unit(session, code)


async def add_person(session: AsyncSession, code: str, body: PersonCreate, principal: Principal,
                     now: datetime) -> PersonRead:
    if await session.get(DirectoryUnit, code) is None:
        raise NotFound(f"单位 {code} 不存在")
    values = body.model_dump()
    _check_contacts(values)
    person = DirectoryPerson(id=new_id(), unit_code=code, **values, source="api",
                             created_at=now, updated_at=now, edited_at=now)
    session.add(person)
    await session.flush()
    await audit.record(session, principal, entity_type="person", entity_id=person.id,
                       action="created", before=None, after=person.model_dump(mode="json"),
                       now=now)
    return PersonRead(**person.model_dump())


async def update_person(session: AsyncSession, person_id_: str, body: PersonUpdate,
                        principal: Principal, now: datetime, expected: int) -> PersonRead:
    """Changes based on revision `expected`: 412 if the person's entry changed since."""
    await revisions.claim(session, DirectoryPerson, person_id_, expected, label="人员",
                          audit=("person", person_id_), labels=PERSON_LABELS)
    person = await session.get(DirectoryPerson, person_id_, populate_existing=True)
    changes = body.model_dump(exclude_unset=True, exclude={"revision"})
    for name in ("name", "active"):
        if name in changes and changes[name] is None:
            raise DomainError(name, "不能为空", "required")
    _check_contacts(changes)
    before = person.model_dump(mode="json") | {"revision": expected}
    for k, v in changes.items():
        setattr(person, k, v)
    person.updated_at = person.edited_at = now
    session.add(person)
    await session.flush()
    await audit.record(session, principal, entity_type="person", entity_id=person.id,
                       action="updated", before=before, after=person.model_dump(mode="json"),
                       now=now)
    return PersonRead(**person.model_dump())


assert set(CONTACT_FIELDS) >= set(rules.CHECKS)


SHANGHAI = ZoneInfo("Asia/Shanghai")
CHANNEL_NAMES = {"email": "邮件", "wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人",
                 "webhook": "Webhook", "sms": "短信"}


async def send_test(session: AsyncSession, notifier, code: str, channel: str,
                    principal: Principal, now: datetime) -> TestResult:
    """A test message to a unit on one channel, sent at once (not a reminder, not queued), so
    whoever sets an address sees whether it arrives."""
    unit = await get_unit(session, code)
    name = CHANNEL_NAMES[channel]
    if not notifier.usable(channel):
        raise DomainError("channel", f"本系统尚未配置{name}发送服务，请联系系统管理员")
    entry = (await notifier.directory.get()).entries.get(code)
    addresses = list(entry.addresses.get(channel, ())) if entry and entry.active else []
    if not addresses:
        raise DomainError("channel", f"{unit.name}尚未设置{name}地址")
    message = Message(
        delivery_id=new_id(), channel=channel, unit=code, unit_name=unit.name,
        title="【测试消息】防贫监测提醒",
        body=f"【测试消息】这是发给{unit.name}的{name}测试消息（{principal.sub} 于 "
             f"{now.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 发送）。收到即表示提醒可以送达。",
        event_id=new_id(), event_type="fangpin.notifications.test", rule=None)
    policy = notifier.settings.policy(channel)
    try:
        status = await notifier.channels[channel].send(
            message, addresses, entry.secrets if entry else {}, policy.timeout_seconds)
    except ChannelError as exc:
        return TestResult(channel=channel, sent=False, status=exc.status,
                          detail=f"发送失败：{exc}")
    await audit.record(session, principal, entity_type="unit", entity_id=code,
                       action="test_message", before=None,
                       after={"channel": channel, "status": status}, now=now)
    return TestResult(channel=channel, sent=True, status=status, detail=f"已发送（{status}）")
