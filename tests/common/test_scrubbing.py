"""Nothing personal on the bus or in the logs: every event type of the catalogue, with personal
data planted in every string it has, is published through the outbox to a real nats-server and
read back; the JSON log formatter's output is read the same way."""

import io
import json
import logging
import types
import typing
from datetime import UTC, date, datetime
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from fangpin_common import outbox
from fangpin_common.events import EventData, registered
from fangpin_common.ids import new_id
from fangpin_common.logging import JsonFormatter, log_fields
from fangpin_common.scrub import CARD_MARKER, ID_MARKER, PHONE_MARKER, scrub
from fangpin_common.testing import eventually, running, stream_messages

from .conftest import Handled, kit_app

# What a clerk types: every kind the scrubber knows, ASCII and full-width, grouped and not.
PLANTED = ("本人来电 13912345678，身份证 450224198001010019，旧证 450224800101001，"
           "卡号 6222 0212 3456 7890 123 或 6222021234567890123，座机 (0772)5123456，"
           "全角 １３８００１３８０００，手机 +86 139-8765-4321")
NEEDLES = ("13912345678", "450224198001010019", "450224800101001", "6222021234567890123",
           "6222 0212 3456 7890", "5123456", "13800138000", "１３８００１３８０００",
           "139-8765-4321", "8765")


def leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def planted(annotation: Any, where: str) -> Any:
    """A value of `annotation` with personal data in every string it can hold."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return planted(next(a for a in args if a is not type(None)), where)
    if origin is Literal:
        return args[0]
    if origin is list:
        return [planted(args[0], where)]
    if origin is dict:
        return {planted(args[0], where + ".key"): planted(args[1], where + ".value")}
    if annotation is Any or annotation is str:
        return f"{where}: {PLANTED}"
    if annotation is int:
        return 1
    if annotation is bool:
        return True
    if annotation is date:
        return date(2024, 4, 1)
    if annotation is datetime:
        return datetime(2024, 4, 1, tzinfo=UTC)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation(**{name: planted(field.annotation, f"{where}.{name}")
                             for name, field in annotation.model_fields.items()})
    raise AssertionError(f"no planted value for {annotation!r} at {where}")


def strings(value: Any) -> int:
    """How many strings a planted value holds (each must come back scrubbed)."""
    if isinstance(value, str):
        return int(PLANTED in value)
    if isinstance(value, BaseModel):
        return sum(strings(v) for v in dict(value).values())
    if isinstance(value, dict):
        return sum(strings(k) + strings(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(strings(v) for v in value)
    return 0


def every_event() -> list:
    events = []
    for event_type, cls in sorted(registered().items()):
        data_cls = cls.model_fields["data"].annotation
        events.append(cls(id=new_id(), subject=f"subject {PLANTED}",
                          data=planted(data_cls, event_type)))
    return events


def test_every_payload_of_the_catalogue_is_scrubbed_by_its_base():
    """By construction: each event's payload is an EventData, whose serialiser scrubs; even
    a payload built without validation (model_construct) leaves scrubbed."""
    for event_type, cls in registered().items():
        data_cls = cls.model_fields["data"].annotation
        assert isinstance(data_cls, type) and issubclass(data_cls, EventData), event_type
    for event in every_event():
        raw = event.to_json().decode()
        assert not leaks(raw), (event.type, leaks(raw))
        unchecked = type(event.data).model_construct(**dict(event.data))
        assert not leaks(type(event).model_construct(
            **(dict(event) | {"data": unchecked})).to_json().decode())


async def test_every_event_type_with_personal_data_planted_reaches_the_stream_scrubbed(
        database, private_nats):
    import nats

    app = kit_app(database, private_nats.url, Handled(), run_consumers=False)
    events = every_event()
    async with running(app):
        # The kit runs monitoring's stream; the other publishers' streams are made here.
        publishers = sorted({event_type.split(".")[1] for event_type in registered()})
        nc = await nats.connect(private_nats.url)
        try:
            js = nc.jetstream()
            for service in set(publishers) - {"monitoring"}:
                await js.add_stream(name=f"FANGPIN_{service.upper()}",
                                    subjects=[f"fangpin.{service}.>"])
        finally:
            await nc.close()
        async with app.state.db.unit_of_work() as session:
            await outbox.emit_many(session, events[: len(events) // 2])
            for event in events[len(events) // 2:]:
                await outbox.emit(session, event)

        async def everything() -> list[bytes]:
            out = []
            for service in publishers:
                out += await stream_messages(private_nats.url, f"FANGPIN_{service.upper()}")
            return out if len(out) >= len(events) else []

        messages = await eventually(everything, timeout=30)
    received = {json.loads(m)["type"]: m.decode() for m in messages}
    assert set(received) == set(registered())
    for event in events:
        raw = received[event.type]
        assert not leaks(raw), (event.type, leaks(raw))
        # Every planted string arrived, as text around the markers.
        expected = strings(event.data) + 1  # and the subject
        assert raw.count(PHONE_MARKER) >= 4 * expected, event.type
        assert raw.count(ID_MARKER) >= 2 * expected and raw.count(CARD_MARKER) >= 2 * expected


def test_json_logs_scrub_the_message_the_fields_and_the_traceback():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    logger = logging.getLogger("fangpin.test.scrub")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("reason %s", PLANTED, extra=log_fields(
            reason=PLANTED, nested={"name": PLANTED, PLANTED: [PLANTED, 1]},
            obj=ValueError(PLANTED), count=3))
        try:
            raise RuntimeError(PLANTED)
        except RuntimeError:
            logger.exception("failed for %s", "450224198001010019")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert not leaks(line), leaks(line)
    first, second = (json.loads(line) for line in lines)
    assert first["message"].startswith("reason 本人来电 " + PHONE_MARKER)
    assert first["count"] == 3 and first["nested"]["name"].count(ID_MARKER) == 2
    assert ID_MARKER in second["message"] and "RuntimeError" in second["exception"]


@pytest.mark.parametrize("text", [
    "0190c3a2-1391-7234-8567-139123456789", "450224103 板榄村", "2024-04-10", "87700.5",
    "/api/v1/quality/anomalies?township=450224103&run=0190c3a2-1391-7234-8567-139123456789",
    "12345678", "第 3 版"])
def test_ids_codes_dates_and_amounts_are_not_scrubbed(text):
    assert scrub(text) == text


@pytest.mark.parametrize("text, marker", [
    ("450224198001010019", ID_MARKER), ("45022419800101001X", ID_MARKER),
    ("450224 19800101 001X", ID_MARKER), ("450224800101001", ID_MARKER),
    ("13912345678", PHONE_MARKER), ("139 1234 5678", PHONE_MARKER),
    ("+8613912345678", PHONE_MARKER), ("0772-5123456", PHONE_MARKER),
    ("（0772）5123456", PHONE_MARKER), ("01065123456", PHONE_MARKER),
    ("6222021234567890", CARD_MARKER), ("6222-0212-3456-7890-123", CARD_MARKER),
    ("１３９１２３４５６７８", PHONE_MARKER), ("４５０２２４１９８００１０１００１Ｘ", ID_MARKER)])
def test_each_kind_is_replaced_by_its_marker(text, marker):
    assert scrub(f"电话{text}。") == f"电话{marker}。"
