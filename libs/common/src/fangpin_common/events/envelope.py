"""The CloudEvents 1.0 envelope (JSON structured mode) and the catalogue's registry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from fangpin_common.ids import new_id
from fangpin_common.scrub import scrub, scrub_value

_REGISTRY: dict[str, type[CloudEvent]] = {}


class EventData(BaseModel):
    """A payload. Identifiers and administrative codes only: never a resident ID or phone.

    Every field that can hold a string (names, reasons, lists, dict keys and values; nested
    payloads scrub themselves) is scrubbed when the payload is built, and a payload is never
    built unvalidated (model_construct and model_copy validate here): a resident ID, phone or
    bank card number typed into free text reaches neither the outbox nor the bus."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The fields whose type can hold a string, set per class (see _may_hold_text).
    _free_text: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._free_text = tuple(name for name, field in cls.model_fields.items()
                               if _may_hold_text(field.annotation))

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        return cls.model_validate(values)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        return self.model_validate(self.model_dump() | dict(update or {}))

    @model_validator(mode="after")
    def _scrubbed(self) -> EventData:
        # Frozen model: set the scrubbed values in place, once, when the payload is built.
        values = self.__dict__
        for name in self._free_text:
            value = values[name]
            if value is None or (type(value) is str and len(value) < 10):
                continue  # the common case, kept cheap: nothing that short can match
            clean = scrub_value(value)
            if clean != value:
                object.__setattr__(self, name, _like(value, clean))
        return self


def _like(original: Any, clean: Any) -> Any:
    """The scrubbed value in the original's container type (tuples stay tuples)."""
    return type(original)(clean) if isinstance(original, tuple | frozenset) else clean


def _may_hold_text(annotation: Any) -> bool:
    """Whether a field of this type can carry a string; unknown types are assumed to. A nested
    payload (EventData) scrubs itself."""
    if annotation in (int, float, bool, date, datetime, type(None)):
        return False
    if isinstance(annotation, type) and issubclass(annotation, EventData):
        return False
    origin = get_origin(annotation)
    if origin is Literal:
        return False
    args = get_args(annotation)
    if origin is not None and args:
        return any(_may_hold_text(a) for a in args if a is not Ellipsis)
    return True


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
