"""The CloudEvents 1.0 envelope (JSON structured mode) and the catalogue's registry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_serializer,
    model_serializer,
    model_validator,
)

from fangpin_common.ids import new_id
from fangpin_common.scrub import scrub, scrub_value

_REGISTRY: dict[str, type[CloudEvent]] = {}


class EventData(BaseModel):
    """A payload. Identifiers and administrative codes only: never a resident ID or phone.

    Every string of every payload (names, reasons, nested models, dict keys and values) is
    scrubbed when the payload is serialised, however it was built: a resident ID, phone or
    bank card number typed into free text reaches neither the outbox nor the bus."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_serializer(mode="wrap")
    def _scrubbed(self, handler: SerializerFunctionWrapHandler,
                  info: SerializationInfo) -> dict[str, Any]:
        return scrub_value(handler(self))


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Bump when a payload changes incompatibly; readers see it in `dataschema`.
    version: ClassVar[int] = 1

    specversion: str = "1.0"
    id: str = Field(default_factory=new_id)
    source: str = ""
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    datacontenttype: str = "application/json"
    dataschema: str = ""
    data: Any

    @model_validator(mode="after")
    def _derive(self) -> CloudEvent:
        # "fangpin.monitoring.case.opened" comes from "/fangpin/monitoring".
        if not self.source:
            object.__setattr__(self, "source", "/" + "/".join(self.type.split(".")[:2]))
        if not self.dataschema:
            object.__setattr__(self, "dataschema", f"urn:fangpin:event:{self.type}:v{self.version}")
        return self

    @field_serializer("subject")
    def _scrub_subject(self, subject: str | None) -> str | None:
        return None if subject is None else scrub(subject)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def event_type(cls) -> str:
        return cls.model_fields["type"].default


def register(cls: type[CloudEvent]) -> type[CloudEvent]:
    event_type = cls.event_type()
    if not event_type or event_type in _REGISTRY:
        raise ValueError(f"event type missing or registered twice: {cls.__name__}")
    _REGISTRY[event_type] = cls
    return cls


def registered() -> dict[str, type[CloudEvent]]:
    return dict(_REGISTRY)


class DeadlineData(EventData):
    """Payload of every due-soon and overdue event emitted from the deadline ledger."""

    deadline_id: str
    kind: str
    subject_type: str
    subject_id: str
    household_id: str | None = None
    township: str | None = None
    village: str | None = None
    started_on: date
    due_on: date
    days_overdue: int = 0
    context: dict[str, Any] = Field(default_factory=dict)
