"""Structured JSON logs that carry the request id and event id of the work in hand.

Logs leave the service as events do: the message, every field and the traceback pass the
shared scrubber (fangpin_common.scrub), so a resident ID or phone in a value logged by
mistake is written as a marker.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from fangpin_common.scrub import scrub, scrub_value

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id_var: ContextVar[str | None] = ContextVar("event_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if (rid := request_id_var.get()) is not None:
            entry["request_id"] = rid
        if (eid := event_id_var.get()) is not None:
            entry["event_id"] = eid
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = scrub_value(value if _is_json(value) else str(value))
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.stack_info:
            entry["stack"] = scrub(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=lambda v: scrub(str(v)))


def _is_json(value: object) -> bool:
    return isinstance(value, str | int | float | bool | dict | list | tuple) or value is None


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("nats", "aiosqlite", "asyncio", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_fields(**fields: object) -> dict:
    """`logger.info("…", extra=log_fields(case_id=…))` adds fields to the JSON entry."""
    return {"fields": fields}
