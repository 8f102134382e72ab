"""Routing rules: which event reaches which units, through which channels, with which text.

Rules are county configuration (`routing:` in the county file). They are checked when loaded:
an unknown event type, a template field the event does not carry or a unit that does not exist
is refused with the line it stands on.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fangpin_common.county import ConfigError, County, line_of, township_unit, village_unit
from fangpin_common.events import CloudEvent, registered

RECIPIENT_ROLES = ("township", "village", "county")
CHANNELS = ("inbox",)
# Fields every template may use besides the event's own data.
EXTRA_FIELDS = ("township_name", "event_type", "event_time", "unit_name")


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str
    recipients: list[str] = Field(min_length=1)
    channels: list[str] = Field(default_factory=lambda: ["inbox"], min_length=1)
    template: str
    title: str | None = None


def template_fields(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0]
            for _, name, _, _ in string.Formatter().parse(template) if name}


def event_fields(cls: type[CloudEvent]) -> set[str]:
    data_model = cls.model_fields["data"].annotation
    fields = set(getattr(data_model, "model_fields", {}))
    return fields | {"context"} if "context" in fields else fields


def load_rules(county: County, source_text: str | None = None) -> list[Rule]:
    node = yaml.compose(source_text) if source_text else None
    catalogue = registered()
    units = {u.code for u in county.all_units()}
    rules: list[Rule] = []
    problems: list[str] = []

    def where(*loc: Any) -> str:
        return f"line {line_of(node, ('routing', *loc))}: " if node is not None else ""

    for i, raw in enumerate(county.routing):
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(f"{where(i, *err['loc'])}routing[{i}]."
                                f"{'.'.join(map(str, err['loc']))}: {err['msg']}")
            continue
        cls = catalogue.get(rule.event)
        if cls is None:
            problems.append(f"{where(i, 'event')}routing[{i}].event: unknown event type "
                            f"{rule.event!r}")
            continue
        allowed = event_fields(cls) | set(EXTRA_FIELDS)
        for name in sorted(template_fields(rule.template) - allowed):
            problems.append(f"{where(i, 'template')}routing[{i}].template: {rule.event} has no "
                            f"field {name!r} (it has: {', '.join(sorted(allowed))})")
        for j, recipient in enumerate(rule.recipients):
            if recipient not in RECIPIENT_ROLES and recipient not in units:
                problems.append(f"{where(i, 'recipients', j)}routing[{i}].recipients[{j}]: "
                                f"{recipient!r} is neither {', '.join(RECIPIENT_ROLES)} nor a unit")
        for j, channel in enumerate(rule.channels):
            if channel not in CHANNELS:
                problems.append(f"{where(i, 'channels', j)}routing[{i}].channels[{j}]: "
                                f"unknown channel {channel!r}")
        rules.append(rule)
    if problems:
        raise ConfigError("\n".join(problems))
    return rules


def rules_by_event(rules: list[Rule]) -> dict[str, list[Rule]]:
    by_event: dict[str, list[Rule]] = {}
    for rule in rules:
        by_event.setdefault(rule.event, []).append(rule)
    return by_event


def resolve_recipients(rule: Rule, data: Mapping[str, Any], county: County) -> list[str]:
    """Unit codes for the rule's recipients; a role the event cannot fill is skipped."""
    units: list[str] = []
    for recipient in rule.recipients:
        if recipient == "township":
            code = data.get("township")
            unit = township_unit(code) if code else None
        elif recipient == "village":
            code = data.get("village")
            unit = village_unit(code) if code else None
        elif recipient == "county":
            unit = county.county.lead_unit
        else:
            unit = recipient
        if unit and unit not in units:
            units.append(unit)
    return units


def render(template: str, event: CloudEvent, county: County, unit_name: str = "") -> str:
    data = event.data.model_dump(mode="json")
    township = county.township(data.get("township") or "")
    values = data | {
        "township_name": township.name if township else (data.get("township") or ""),
        "event_type": event.type,
        "event_time": event.time.isoformat(),
        "unit_name": unit_name,
    }
    return template.format_map(values)
