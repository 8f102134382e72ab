"""Events bounded by design (issue 12): a change whose event is over the limit is refused when
written; an outbox row that can never be published goes to the producer dead letters and
blocks nothing behind it."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import func, select

from fangpin_common import outbox
from fangpin_common.tables import AUDIT_LOG, OUTBOX, OUTBOX_DEAD_LETTERS
from fangpin_common.testing import auth, eventually, running, stream_messages, token_for
from fangpin_monitoring.households.models import Household

from ..monitoring.conftest import household, member
from .conftest import Handled, kit_app, ping

COUNTY = auth(token_for("county"))
TOWNSHIP = auth(token_for("township", "板榄镇"))


async def rows(app, table, *where) -> int:
    async with app.state.db.session() as session:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return (await session.execute(query)).scalar_one()


def many_members(n: int) -> list[dict]:
    """n members with distinct, valid resident IDs (100 serials per birth date)."""
    born = date(1960, 1, 1)
    return [member(name=f"成员{i}", born=born + timedelta(days=i // 100), serial=i % 100,
                   relation="户主" if i == 0 else "其他")
            for i in range(n)]


async def test_a_household_whose_event_is_too_large_is_refused(database, private_nats):
    from fangpin_common.testing import settings_for
    from fangpin_monitoring.main import create_app
    from fangpin_monitoring.settings import MonitoringSettings

    app = create_app(settings_for(MonitoringSettings, database, private_nats.url))
    async with running(app) as client:
        body = household(members=many_members(6000))
        assert len(json.dumps(body, ensure_ascii=False).encode()) > 900_000  # as reported
        r = await client.post("/api/v1/households", json=body, headers=TOWNSHIP)
        assert r.status_code == 422, r.text[:500]
        message = json.dumps(r.json(), ensure_ascii=False)
        # Whichever bound answers (the payload limit here), the operator reads why in Chinese.
        assert "超过上限" in message or "成员" in message, message[:500]
        # Nothing half-done: no household, no outbox row, nothing stuck.
        assert await rows(app, Household.__table__) == 0
        assert await rows(app, OUTBOX) == 0
        assert (await client.get("/admin/outbox", headers=COUNTY)).json()["pending"] == 0
        # A household of ordinary size still goes through and is published.
        r = await client.post("/api/v1/households", json=household(members=many_members(4)),
                              headers=TOWNSHIP)
        assert r.status_code == 201, r.text
        await eventually(lambda: _empty(app))


async def _empty(app) -> bool:
    return await rows(app, OUTBOX) == 0


async def test_emit_refuses_an_event_over_the_limit_and_rolls_back(database, private_nats):
    app = kit_app(database, private_nats.url, Handled(), run_consumers=False,
                  event_max_bytes=4096)
    async with running(app):
        big = ping(1).model_copy(update={"subject": "x" * 5000})
        try:
            async with app.state.db.unit_of_work() as session:
                await outbox.emit(session, ping(2))
                await outbox.emit(session, big)
        except outbox.EventTooLarge as exc:
            assert exc.status_code == 422 and "超过上限 4096 字节" in exc.message
        else:
            raise AssertionError("an event over the limit was written")
        assert await rows(app, OUTBOX) == 0  # ping 2 rolled back with it


async def test_a_row_that_cannot_be_published_is_set_aside(database, private_nats):
    app = kit_app(database, private_nats.url, Handled(), run_consumers=False)
    async with running(app) as client:
        # Forced past emit's limit, as the 1.2 MB household.upserted of issue 12 was written.
        huge = ping(1).model_copy(update={"subject": "x" * 1_200_000})
        async with app.state.db.unit_of_work() as session:
            await session.execute(OUTBOX.insert().values(
                id=huge.id, event_type=huge.type, payload=huge.to_json(),
                created_at=outbox._wall_clock(), available_at=outbox._wall_clock(), attempts=0))
            for n in range(2, 12):
                await outbox.emit(session, ping(n))

        async def moved():
            r = await client.get("/admin/outbox/dead-letters", headers=COUNTY)
            return r.json() if r.json() else None

        (letter,) = await eventually(moved, timeout=20)
        assert letter["id"] == huge.id and letter["event_type"] == huge.type
        assert "NATS" in letter["error"] and letter["size"] > 1_000_000
        # The rows behind it were published; the outbox is empty, nothing retried for ever.
        await eventually(lambda: _empty(app))
        sent = [json.loads(m)["id"] for m in await stream_messages(private_nats.url,
                                                                  "FANGPIN_MONITORING")]
        assert huge.id not in sent and len(sent) == 10
        state = (await client.get("/admin/outbox", headers=COUNTY)).json()
        assert state == state | {"pending": 0, "dead_letters": 1}
        metrics = (await client.get("/metrics")).text
        assert 'fangpin_outbox_dead_letters_open{service="monitoring"} 1.0' in metrics
        assert 'fangpin_outbox_dead_lettered_total{service="monitoring",type=' in metrics

        # Still too large: resending cannot help, the operator is told so.
        resend = f"/admin/outbox/dead-letters/{huge.id}/resend"
        r = await client.post(resend, headers=COUNTY)
        assert r.status_code == 422 and "仍超过上限" in r.json()["detail"]
        discard = f"/admin/outbox/dead-letters/{huge.id}/discard"
        assert (await client.post(discard, json={"reason": ""}, headers=COUNTY)).status_code == 422
        r = await client.post(discard, json={"reason": "测试事件，不需要发布"}, headers=COUNTY)
        assert r.status_code == 200 and r.json()["state"] == "discarded"
        assert (await client.post(discard, json={"reason": "x"}, headers=COUNTY)).status_code == 409
        assert (await client.get("/admin/outbox/dead-letters", headers=COUNTY)).json() == []
        (kept,) = (await client.get("/admin/outbox/dead-letters", headers=COUNTY,
                                    params={"state": "all"})).json()
        assert kept["note"] == "测试事件，不需要发布" and kept["state"] == "discarded"
        assert await rows(app, AUDIT_LOG, AUDIT_LOG.c.entity_type == "outbox_dead_letter") == 1
        assert 'fangpin_outbox_dead_letters_open{service="monitoring"} 0.0' in (
            await client.get("/metrics")).text


async def test_a_row_the_server_keeps_rejecting_is_set_aside_then_resent(database,
                                                                       private_nats):
    """A stream limit below an event's size (set by an administrator): JetStream answers
    with an error each time; after outbox_max_rejections tries the row is set aside, and
    resent once the limit is fixed."""
    import nats

    app = kit_app(database, private_nats.url, Handled(), run_consumers=False,
                  outbox_max_rejections=2)
    async with running(app) as client:
        app.state.relay.publish_timeout = 1.0  # the lost acks of the first try come sooner
        nc = await nats.connect(private_nats.url)
        js = nc.jetstream()
        config = (await js.stream_info("FANGPIN_MONITORING")).config
        config.max_msg_size = 2000
        await js.update_stream(config)
        wide = ping(1).model_copy(update={"subject": "x" * 3000})
        async with app.state.db.unit_of_work() as session:
            await outbox.emit(session, wide)
            await outbox.emit(session, ping(2))

        async def moved():
            return await rows(app, OUTBOX_DEAD_LETTERS) == 1

        await eventually(moved, timeout=30)
        await eventually(lambda: _empty(app))
        (letter,) = (await client.get("/admin/outbox/dead-letters", headers=COUNTY)).json()
        assert letter["id"] == wide.id and letter["attempts"] == 2
        assert "message size exceeds maximum" in letter["error"], letter["error"]

        config.max_msg_size = -1
        await js.update_stream(config)
        await nc.close()
        r = await client.post(f"/admin/outbox/dead-letters/{wide.id}/resend", headers=COUNTY)
        assert r.status_code == 200 and r.json()["state"] == "resent"
        assert (await client.post(f"/admin/outbox/dead-letters/{wide.id}/resend",
                                  headers=COUNTY)).status_code == 409
        await eventually(lambda: _empty(app))
        sent = [json.loads(m)["id"] for m in await stream_messages(private_nats.url,
                                                                  "FANGPIN_MONITORING")]
        assert sorted(sent) == sorted([wide.id, ping(2).id]) or len(sent) == 2
        assert wide.id in sent
        assert (await client.get("/admin/outbox", headers=COUNTY)).json()["dead_letters"] == 0
