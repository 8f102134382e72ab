"""The event catalogue: every payload the services publish, in one discriminated union.

This module is the single source of the published schema (`fangpin events asyncapi`).
Services depend on these schemas, never on each other's code.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from fangpin_common.events import (  # noqa: F401
    console,
    employment,
    industry,
    monitoring,
    notifications,
)
from fangpin_common.events.envelope import (
    CloudEvent,
    DeadlineData,
    EventData,
    register,
    registered,
)

__all__ = [
    "CloudEvent",
    "DeadlineData",
    "EventData",
    "register",
    "registered",
    "parse_event",
    "event_adapter",
    "asyncapi",
]


@cache
def event_adapter() -> TypeAdapter:
    classes = tuple(registered().values())
    return TypeAdapter(Annotated[Union[classes], Field(discriminator="type")])  # noqa: UP007


def parse_event(raw: bytes | str) -> CloudEvent:
    """Parse a JSON event into its typed class; raises pydantic.ValidationError if unknown."""
    return event_adapter().validate_json(raw)


def asyncapi() -> dict[str, Any]:
    """An AsyncAPI 2.6 document: one channel per event type (the NATS subject)."""
    channels: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for event_type, cls in sorted(registered().items()):
        name = cls.__name__
        schemas[name] = cls.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub_name, sub in schemas[name].pop("$defs", {}).items():
            schemas[sub_name] = sub
        channels[event_type] = {
            "subscribe": {
                "operationId": f"on{name}",
                "message": {
                    "name": event_type,
                    "title": name,
                    "contentType": "application/json",
                    "summary": (cls.__doc__ or "").strip() or None,
                    "payload": {"$ref": f"#/components/schemas/{name}"},
                    "x-version": cls.version,
                },
            }
        }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "Fangpin events",
            "version": "1",
            "description": "CloudEvents 1.0 (JSON) published on NATS JetStream; "
                           "the subject is the event type.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"schemas": schemas},
    }
