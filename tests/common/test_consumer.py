"""Durable consumers: idempotent handling, retries, dead letters and their replay."""

import nats
import pytest

from fangpin_common.testing import auth, eventually, running, token_for

from .conftest import PING, Handled, effects, kit_app, ping

COUNTY = auth(token_for("county"))


async def publish_raw(url: str, data: bytes, msg_id: str | None = None) -> None:
    nc = await nats.connect(url)
    try:
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await nc.jetstream().publish(PING, data, headers=headers)
    finally:
        await nc.close()


async def emit(app, *events) -> None:
    from fangpin_common import outbox

    async with app.state.db.unit_of_work() as session:
        for event in events:
            await outbox.emit(session, event)


async def test_redelivered_event_is_applied_once(database, private_nats):
    handled = Handled()
    app = kit_app(database, private_nats.url, handled)
    async with running(app):
        events = [ping(n) for n in range(20)]
        await emit(app, *events)
        await eventually(lambda: _count(app, 20))
        # The same event again, past JetStream's duplicate window (no message id): a redelivery.
        await publish_raw(private_nats.url, events[3].to_json())
        await publish_raw(private_nats.url, events[3].to_json())
        await eventually(lambda: handled_outcome(app, "duplicate") >= 2)
        assert await effects(app) == list(range(20))


async def _count(app, n) -> bool:
    return len(await effects(app)) == n


def handled_outcome(app, outcome: str) -> int:
    return int(sum(s.value for m in app.state.metrics.registry.collect()
                   if m.name == "fangpin_events_consumed" for s in m.samples
                   if s.name.endswith("_total") and s.labels.get("outcome") == outcome))


async def test_failing_handler_is_retried_until_it_succeeds(database, private_nats):
    handled = Handled()
    app = kit_app(database, private_nats.url, handled)
    async with running(app):
        await emit(app, ping(1, fail_times=2), ping(2))
        await eventually(lambda: _count(app, 2), timeout=20)
        assert handled.failures == {1: 2}
        assert await effects(app) == [1, 2]


async def test_dead_letter_after_max_deliver_then_replay(database, private_nats):
    handled = Handled()
    app = kit_app(database, private_nats.url, handled, consumer_max_deliver=3)
    async with running(app) as client:
        seven = ping(7, fail_times=99)
        await emit(app, seven, ping(8))
        await publish_raw(private_nats.url, b"this is not an event", msg_id="poison-1")

        async def dead_letters():
            r = await client.get("/admin/dead-letters", headers=COUNTY)
            return r.json() if len(r.json()) == 2 else None

        letters = {d["event_id"] or d["msg_id"]: d
                   for d in await eventually(dead_letters, timeout=30)}
        assert letters[seven.id]["deliveries"] == 3
        assert "injected failure" in letters[seven.id]["error"]
        assert "不是 JSON" in letters["poison-1"]["error"]  # kept, not dropped
        assert letters["poison-1"]["stream"] == "FANGPIN_MONITORING"
        assert handled.failures[7] == 3
        assert await effects(app) == [8]

        handled.failures[7] = 99  # the cause is fixed
        replay = f"/admin/dead-letters/{letters[seven.id]['id']}/replay"
        r = await client.post(replay, headers=COUNTY)
        assert r.status_code == 200 and r.json()["outcome"] == "handled"
        assert await effects(app) == [7, 8]
        assert (await client.post(replay, headers=COUNTY)).status_code == 409
        assert len((await client.get("/admin/dead-letters", headers=COUNTY)).json()) == 1
        assert (await client.get("/admin/dead-letters")).status_code == 401


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_consumer_survives_a_server_restart(database, private_nats):
    handled = Handled()
    app = kit_app(database, private_nats.url, handled)
    async with running(app):
        await emit(app, *[ping(n) for n in range(10)])
        await eventually(lambda: _count(app, 10))
        private_nats.restart(kill=True)
        await emit(app, *[ping(n) for n in range(10, 20)])
        await eventually(lambda: _count(app, 20), timeout=40)
        assert await effects(app) == list(range(20))


class _Delivered:
    """A JetStream message as the consumer sees it (metadata, ack), delivered by hand."""

    def __init__(self, data: bytes, seq: int, delivered: int = 1) -> None:
        from types import SimpleNamespace

        self.data, self.subject, self.headers = data, PING, {"Nats-Msg-Id": f"m-{seq}"}
        self.metadata = SimpleNamespace(stream="FANGPIN_MONITORING",
                                        sequence=SimpleNamespace(stream=seq),
                                        num_delivered=delivered)
        self.acks = 0

    async def ack(self) -> None:
        self.acks += 1


async def test_a_poison_message_delivered_again_is_kept_once(database, private_nats):
    """Stored, then the ack lost (a crash): the redelivery finds its row, counts nothing."""
    app = kit_app(database, private_nats.url, Handled(), run_consumers=False)
    async with running(app) as client:
        consumer = app.state.consumers["kit-pings"]
        first, again, other = (_Delivered(b"{", 7), _Delivered(b"{", 7, delivered=2),
                               _Delivered(b"{", 8))
        for msg in (first, again, other):
            assert await consumer.handle_message(msg) == "poison"
            assert msg.acks == 1
        letters = (await client.get("/admin/dead-letters", headers=COUNTY)).json()
        assert [(d["message_key"], d["deliveries"]) for d in letters] == [
            ("FANGPIN_MONITORING:7", 1), ("FANGPIN_MONITORING:8", 1)]
        counted = sum(s.value for m in app.state.metrics.registry.collect()
                      if m.name == "fangpin_events_dead_lettered" for s in m.samples
                      if s.name.endswith("_total"))
        assert counted == 2


async def test_a_dead_letter_that_cannot_be_written_yet_is_not_dropped(database, private_nats):
    """The last delivery fails and so does writing its dead letter (the database away): the
    message comes back until the row is written, rather than the server giving up on it."""
    handled = Handled()
    app = kit_app(database, private_nats.url, handled, consumer_max_deliver=2)
    consumer = app.state.consumers["kit-pings"]
    write = consumer._dead_letter
    refused = []

    async def database_away_once(*args):
        if not refused:
            refused.append(args)
            raise ConnectionError("database unreachable")
        await write(*args)

    consumer._dead_letter = database_away_once
    async with running(app) as client:
        stuck = ping(5, fail_times=99)
        await emit(app, stuck)

        async def kept():
            r = await client.get("/admin/dead-letters", headers=COUNTY)
            return r.json() or None

        (letter,) = await eventually(kept, timeout=30)
        assert refused and letter["event_id"] == stuck.id
        assert letter["deliveries"] == 3  # one more than max_deliver: it was not dropped
