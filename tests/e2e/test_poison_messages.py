"""Poison messages on monitoring's stream, as its three consumers see them (issue 12).

Every bad message becomes a dead letter of its own on each consumer — keyed by its place in
the stream, kept with its bytes and headers — the consumers go on (a good event after them
is applied), replay, discard and resolve work, and the open-dead-letter gauge equals the rows.
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime

import nats
from nats.js.errors import BadRequestError
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from fangpin_common.events.monitoring import (
    HouseholdUpserted,
    HouseholdUpsertedData,
    MemberSnapshot,
)
from fangpin_common.tables import AUDIT_LOG, DEAD_LETTERS, PROCESSED_EVENTS
from fangpin_common.testing import auth, eventually, running, settings_for, token_for
from fangpin_employment.main import create_app as employment_app
from fangpin_employment.settings import EmploymentSettings
from fangpin_industry.main import create_app as industry_app
from fangpin_industry.settings import IndustrySettings
from fangpin_notifications.main import create_app as notifications_app
from fangpin_notifications.settings import NotificationsSettings

COUNTY = auth(token_for("county"))
SUBJECT = HouseholdUpserted.event_type()
CONSUMERS = {"employment": "employment-labourers", "industry": "industry-households",
             "notifications": "notifications-monitoring"}


def household(household_id: str) -> HouseholdUpserted:
    return HouseholdUpserted(
        subject=household_id, time=datetime(2024, 4, 1, 2, tzinfo=UTC),
        data=HouseholdUpsertedData(
            household_id=household_id, township="450224103", village="板榄村",
            category="脱贫户", head_name="韦明", revision=1,
            members=[MemberSnapshot(member_id=f"{household_id}-m1", name="韦明", sex="男",
                                    birth_date=date(1980, 1, 1), relation="户主",
                                    labour_capacity="普通劳动力")]))


def valid(household_id: str) -> dict:
    return json.loads(household(household_id).to_json())


def changed(household_id: str, **fields) -> bytes:
    doc = valid(household_id) | fields
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def bad_data(household_id: str) -> bytes:
    doc = valid(household_id)
    del doc["data"]["household_id"]
    doc["data"]["members"] = "很多"
    return json.dumps(doc).encode()


# What can arrive on a subject; each with the reason an operator is shown.
POISON: dict[str, tuple[bytes, str]] = {
    "not JSON": (b"this is not an event", "不是 JSON"),
    "the same bytes again": (b"this is not an event", "不是 JSON"),
    "JSON, not an object": (b"[1, 2, 3]", "JSON 不是对象"),
    "missing type": (changed("h-no-type", type=None), "缺少事件类型"),
    "unknown type": (changed("h-unknown", type="fangpin.monitoring.no_such_thing"),
                     "未知的事件类型"),
    "wrong specversion": (changed("h-spec", specversion="0.3"), "specversion"),
    "data failing validation": (bad_data("h-bad-data"), "不符合其结构"),
    "envelope field invalid": (changed("h-time", time="昨天"), "time"),
    "id too long": (changed("h-long-id", id="x" * 80), "事件 id"),
    "empty body": (b"", "消息体为空"),
    "invalid UTF-8": (b'{"type": "\xff\xfe"}', "UTF-8"),
    "huge": (changed("h-huge", subject="x" * 300_000), "超过事件上限"),
}


async def publish(url: str, messages: list[tuple[bytes, dict | None]]) -> list[int]:
    """Publish onto monitoring's stream (created if absent); the stream sequences."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            await js.add_stream(name="FANGPIN_MONITORING", subjects=["fangpin.monitoring.>"],
                                duplicate_window=600)
        except BadRequestError:
            pass
        return [(await js.publish(SUBJECT, data, headers=headers)).seq
                for data, headers in messages]
    finally:
        await nc.close()


class Failing:
    """Makes a consumer's handlers raise for one event id while `on` (a bug, then fixed)."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.on = True

    def install(self, app, durable: str) -> None:
        consumer = app.state.consumers[durable]
        sub = consumer.sub

        async def handler(session, event):
            if self.on and event.id == self.event_id:
                raise RuntimeError("injected handler failure")
            await sub.handler(session, event)

        async def batch_handler(session, events, *prepared):
            if self.on and any(e.id == self.event_id for e in events):
                raise RuntimeError("injected handler failure")
            await sub.batch_handler(session, events, *prepared)

        consumer.sub = dataclasses.replace(
            sub, handler=handler,
            batch_handler=batch_handler if sub.batch_handler is not None else None)


async def gauge(client, name: str, consumer: str | None = None) -> float:
    text = (await client.get("/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and consumer in (None, sample.labels.get("consumer")):
                total += sample.value
    return total


async def open_rows(app, durable: str) -> int:
    async with app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(DEAD_LETTERS).where(
            DEAD_LETTERS.c.consumer == durable, DEAD_LETTERS.c.state == "open"))).scalar_one()


async def applied(app, durable: str, event_id: str) -> bool:
    async with app.state.db.session() as session:
        return (await session.execute(select(PROCESSED_EVENTS.c.event_id).where(
            PROCESSED_EVENTS.c.consumer == durable,
            PROCESSED_EVENTS.c.event_id == event_id))).first() is not None


async def test_every_poison_message_is_kept_and_the_consumers_go_on(database, private_nats):
    options = {"run_scanners": False, "consumer_max_deliver": 2,
               "consumer_backoff_seconds": [0.2, 0.2]}
    apps = {
        "employment": employment_app(settings_for(EmploymentSettings, database,
                                                  private_nats.url, **options)),
        "industry": industry_app(settings_for(IndustrySettings, database, private_nats.url,
                                              **options)),
        "notifications": notifications_app(settings_for(NotificationsSettings, database,
                                                        private_nats.url, **options)),
    }
    broken = household("h-handler-fails")
    failing = Failing(broken.id)
    good = household("h-good")
    messages = [(data, None) for data, _ in POISON.values()]
    # One with a message id (kept in the row) and one whose handler raises every time.
    messages.append((b"\x00\x01 binary", {"Nats-Msg-Id": "poison-with-id"}))
    messages.append((broken.to_json(), {"Nats-Msg-Id": broken.id}))
    expected = len(messages)
    assert expected >= 13

    async with AsyncExitStack() as stack:
        await publish(private_nats.url, [])  # the stream, before the consumers look for it
        clients = {}
        for name, app in apps.items():
            failing.install(app, CONSUMERS[name])
            clients[name] = await stack.enter_async_context(running(app))
        sequences = await publish(private_nats.url, messages)
        await publish(private_nats.url, [(good.to_json(), {"Nats-Msg-Id": good.id})])

        for name, app in apps.items():
            durable, client = CONSUMERS[name], clients[name]
            # Not blocked: the good event after the poison is applied.
            await eventually(lambda app=app, durable=durable: applied(app, durable, good.id))

            async def all_kept(client=client, durable=durable):
                r = await client.get("/admin/dead-letters", headers=COUNTY,
                                     params={"consumer": durable})
                return r.json() if len(r.json()) == expected else None

            letters = await eventually(all_kept, timeout=30)
            by_seq = {d["stream_seq"]: d for d in letters}
            assert sorted(by_seq) == sorted(sequences), name
            assert {d["stream"] for d in letters} == {"FANGPIN_MONITORING"}
            assert len({d["message_key"] for d in letters}) == expected
            for (data, headers), seq, reason in zip(
                    messages, sequences, [r for _, r in POISON.values()] + [None, None],
                    strict=True):
                letter = (await client.get(f"/admin/dead-letters/{by_seq[seq]['id']}",
                                           headers=COUNTY)).json()
                kept = (letter["payload"].encode() if letter["payload_encoding"] == "utf-8"
                        else __import__("base64").b64decode(letter["payload"]))
                assert kept == data, (name, seq)  # the raw bytes, whatever they were
                assert letter["subject"] == SUBJECT
                if reason:
                    assert reason in letter["error"], (name, reason, letter["error"])
                if headers:
                    assert letter["headers"]["Nats-Msg-Id"] == headers["Nats-Msg-Id"]
                    assert letter["msg_id"] == headers["Nats-Msg-Id"]
            handler_letter = by_seq[sequences[-1]]
            assert handler_letter["event_id"] == broken.id
            assert handler_letter["deliveries"] == 2 and "injected" in handler_letter["error"]

            # Metric = rows: the gauge read from the table, the counter counted once each.
            assert await gauge(client, "fangpin_dead_letters_open", durable) == expected
            assert await gauge(client, "fangpin_events_dead_lettered_total", durable) == expected

        failing.on = False  # the bug is fixed
        for name, app in apps.items():
            durable, client = CONSUMERS[name], clients[name]
            letters = (await client.get("/admin/dead-letters", headers=COUNTY,
                                        params={"consumer": durable})).json()
            by_seq = {d["stream_seq"]: d["id"] for d in letters}
            not_json, garbled, handler_failed = by_seq[sequences[0]], by_seq[sequences[10]], \
                by_seq[sequences[-1]]

            # Still not an event: 422 with the reason, and the row stays open.
            r = await client.post(f"/admin/dead-letters/{not_json}/replay", headers=COUNTY)
            assert r.status_code == 422, r.text
            assert "仍不是可识别的事件" in r.json()["detail"] and "不是 JSON" in r.json()["detail"]
            # The handler's failure was fixed: replay applies it.
            r = await client.post(f"/admin/dead-letters/{handler_failed}/replay", headers=COUNTY)
            assert r.status_code == 200 and r.json()["outcome"] == "handled", r.text
            assert await applied(app, durable, broken.id)
            # Closed with a reason, recorded; a reason is required, a closed row stays closed.
            assert (await client.post(f"/admin/dead-letters/{not_json}/discard", json={},
                                      headers=COUNTY)).status_code == 422
            r = await client.post(f"/admin/dead-letters/{not_json}/discard",
                                  json={"reason": "测试消息，无业务内容"}, headers=COUNTY)
            assert r.status_code == 200 and r.json()["state"] == "discarded"
            r = await client.post(f"/admin/dead-letters/{garbled}/resolve",
                                  json={"reason": "已在监测系统中重新保存该户"}, headers=COUNTY)
            assert r.status_code == 200 and r.json()["state"] == "resolved"
            assert (await client.post(f"/admin/dead-letters/{not_json}/replay",
                                      headers=COUNTY)).status_code == 409
            assert (await client.post(f"/admin/dead-letters/{not_json}/discard",
                                      json={"reason": "again"}, headers=COUNTY)).status_code == 409
            assert (await client.post(f"/admin/dead-letters/{garbled}/discard",
                                      json={"reason": "x"})).status_code == 401
            discarded = (await client.get(f"/admin/dead-letters/{not_json}",
                                          headers=COUNTY)).json()
            assert discarded["note"] == "测试消息，无业务内容"
            assert discarded["resolved_by"].startswith("test:county")
            async with app.state.db.session() as session:
                actions = (await session.execute(select(AUDIT_LOG.c.action).where(
                    AUDIT_LOG.c.entity_type == "dead_letter").order_by(AUDIT_LOG.c.id))).all()
            assert [a for (a,) in actions] == ["replay", "discard", "resolve"]

            left = expected - 3
            assert await open_rows(app, durable) == left
            assert len((await client.get("/admin/dead-letters", headers=COUNTY,
                                         params={"consumer": durable})).json()) == left
            assert await gauge(client, "fangpin_dead_letters_open", durable) == left
            states = [d["state"] for d in (await client.get(
                "/admin/dead-letters", headers=COUNTY, params={"state": "all"})).json()]
            assert sorted(set(states)) == ["discarded", "open", "replayed", "resolved"]
