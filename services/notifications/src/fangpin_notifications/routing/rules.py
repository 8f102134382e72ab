"""Routing rules: which event reaches which units, through which channels, with which text.

Rules are county configuration (`routing:` in the county file, documented there). They are
checked when loaded: an unknown event type, a condition or template field the event does not
carry, an unknown channel or recipient, a unit that does not exist, an escalation without an
inbox — each is refused with the line it stands on. Everything here is pure (no database).
"""

from __future__ import annotations

import fnmatch
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fangpin_common.county import ConfigError, County, line_of, township_unit, village_unit
from fangpin_common.events import CloudEvent, DeadlineData, registered

CHANNELS = ("inbox", "email", "wecom", "dingtalk", "webhook", "sms")
# Recipients resolved from the event: the household's township and village governments, the
# county lead unit, the unit configured as responsible for the deadline kind (`deadlines:`).
PLACE_ROLES = ("township", "village", "county", "responsible")
# Recipients read from an event field (or its deadline context) that holds a unit code:
# skipped when the event does not carry it. `field:<name>` reads any other such field.
FIELD_ROLES = ("lead_unit", "responsible_unit", "helper_unit")
# Fields every template may use besides the event's own data.
EXTRA_FIELDS = ("township_name", "village_name", "event_type", "event_time", "event_date",
                "unit_name", "unit", "rule")
# … and an escalation template besides those.
ESCALATION_FIELDS = ("original", "from_unit", "from_unit_name", "hours", "level")
OWN_PREFIX = "fangpin.notifications."
MISSING = "—"

DEFAULT_ESCALATION_TEMPLATE = (
    "【逾期未处理·上报】{from_unit_name}收到的以下提醒已超过{hours}小时未确认处理，"
    "请督促落实：{original}")


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Not acknowledged within this many hours → a reminder to the unit's parent.
    after_hours: float = Field(gt=0)
    # How many levels up it may climb (village → township → county is 2).
    max_levels: int = Field(default=2, ge=1)
    template: str = DEFAULT_ESCALATION_TEMPLATE


class Resolver(BaseModel):
    """An event reporting that the thing a reminder is about was done (a helper assigned, a
    plan filed, a warning verified): `key` is its data field naming that thing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event: str
    key: str


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Names the rule in metrics and logs; default: the event type (with #n if it has several).
    id: str | None = None
    # An event type, or a pattern (fnmatch: `fangpin.*.*.*_overdue`) over the catalogue.
    event: str
    # A fallback rule applies only to event types that no other rule names.
    fallback: bool = False
    # Conditions on the event's data: field → value or list of values (any matches). A list
    # field (risk_types) matches if it holds any of them; `context.x` reads a deadline's context.
    # `township` accepts names or codes; `risk_type` means risk_types; `kind` the deadline kind.
    when: dict[str, Any] = Field(default_factory=dict)
    recipients: list[str] = Field(min_length=1)
    channels: list[str] = Field(default_factory=lambda: ["inbox"], min_length=1)
    title: str | None = None
    template: str
    escalate: Escalation | None = None
    # Push channels are summed up in the unit's daily digest instead of sent one by one.
    digest: bool = False
    # The open reminders of this rule (escalated ones included) are closed — state `resolved`,
    # no further escalation, pending pushes cancelled — when one of these events names the same
    # thing: its `key` field equals this rule's event field `subject_key`.
    resolved_by: list[Resolver] = Field(default_factory=list)
    subject_key: str = "subject_id"

    @field_validator("when")
    @classmethod
    def _lists(cls, value: dict[str, Any]) -> dict[str, Any]:
        return {k: tuple(v) if isinstance(v, list) else (v,) for k, v in value.items()}

    @cached_property
    def name(self) -> str:
        return self.id or self.event

    @cached_property
    def text_fields(self) -> frozenset[str]:
        """The event fields its template and title show."""
        return used_fields(self.template, self.title)

    @cached_property
    def push_channels(self) -> tuple[str, ...]:
        return tuple(c for c in self.channels if c != "inbox")


@dataclass
class RuleSet:
    """The loaded rules, looked up by event type (patterns expanded once per type)."""

    rules: list[Rule]
    county: County
    # A pattern rule applies to the catalogue's matching types whose data has its fields.
    pattern_types: dict[str, frozenset[str]] = field(default_factory=dict)
    _by_type: dict[str, list[Rule]] = field(default_factory=dict)
    _conditional: dict[str, bool] = field(default_factory=dict)  # any rule with `when`
    _resolving: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)

    def for_type(self, event_type: str) -> list[Rule]:
        found = self._by_type.get(event_type)
        if found is None:
            found = [r for r in rules_for_type(self.rules, event_type)
                     if r.name not in self.pattern_types
                     or event_type in self.pattern_types[r.name]]
            self._by_type[event_type] = found
            self._conditional[event_type] = any(r.when for r in found)
        return found

    def matching(self, event_type: str, data: Mapping[str, Any]) -> list[Rule]:
        rules = self.for_type(event_type)
        return [r for r in rules if matches(r, data)] if self._conditional[event_type] \
            else rules

    def get(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def resolving(self, event_type: str) -> list[tuple[str, tuple[str, ...]]]:
        """What an event of this type closes: (its key field, the rules whose reminders)."""
        found = self._resolving.get(event_type)
        if found is None:
            by_key: dict[str, list[str]] = {}
            for rule in self.rules:
                for resolver in rule.resolved_by:
                    if resolver.event == event_type and rule.name not in by_key.get(
                            resolver.key, []):
                        by_key.setdefault(resolver.key, []).append(rule.name)
            found = self._resolving[event_type] = [(k, tuple(v)) for k, v in by_key.items()]
        return found


def rules_for_type(rules: Sequence[Rule], event_type: str) -> list[Rule]:
    specific = [r for r in rules if not r.fallback and _names(r, event_type)]
    if specific:
        return specific
    return [r for r in rules if r.fallback and _names(r, event_type)]


def _names(rule: Rule, event_type: str) -> bool:
    return rule.event == event_type or fnmatch.fnmatchcase(event_type, rule.event)


def is_pattern(event: str) -> bool:
    return any(ch in event for ch in "*?[")


# -- checking the configuration -------------------------------------------------------------
def template_fields(template: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"not a valid template: {exc}") from None
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in parsed if name}


@lru_cache(maxsize=1024)
def used_fields(*templates: str | None) -> frozenset[str]:
    """The fields a rule's texts use (computed once per template)."""
    return frozenset(f for t in templates if t for f in template_fields(t))


def data_model(cls: type[CloudEvent]) -> type[BaseModel] | None:
    annotation = cls.model_fields["data"].annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) \
        else None


def event_fields(cls: type[CloudEvent]) -> set[str]:
    return set(getattr(data_model(cls), "model_fields", {}))


def has_context(cls: type[CloudEvent]) -> bool:
    model = data_model(cls)
    return model is not None and issubclass(model, DeadlineData)


def condition_field(name: str, fields: set[str]) -> str | None:
    """The data field a condition reads, or None if the event has no such field."""
    if name.startswith("context."):
        return name if "context" in fields else None
    if name == "risk_type":
        return "risk_types" if "risk_types" in fields else (
            "risk_type" if "risk_type" in fields else None)
    return name if name in fields else None


def load_rules(county: County, source_text: str | None = None) -> RuleSet:
    node = yaml.compose(source_text) if source_text else None
    catalogue = registered()
    units = {u.code for u in county.all_units()}
    rules: list[Rule] = []
    problems: list[str] = []

    def where(*loc: Any) -> str:
        return f"line {line_of(node, loc)}: " if node is not None else ""

    def problem(loc: tuple[Any, ...], text: str) -> None:
        path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
        problems.append(f"{where(*loc)}{path.replace('.[', '[')}: {text}")

    for kind, conf in county.deadlines.items():
        if conf.responsible not in PLACE_ROLES[:3] and conf.responsible not in units:
            problem(("deadlines", kind, "responsible"),
                    f"unreachable unit {conf.responsible!r}: neither township, village, county "
                    f"nor a unit of the directory")

    names: dict[str, int] = {}
    pattern_types: dict[str, frozenset[str]] = {}
    for i, raw in enumerate(county.routing):
        loc = ("routing", i)
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                problem((*loc, *err["loc"]), err["msg"])
            continue
        before = len(problems)
        if rule.event.startswith(OWN_PREFIX):
            problem((*loc, "event"), f"{rule.event!r} is this service's own event: not routed")
            continue
        if is_pattern(rule.event):
            # A pattern covers the matching types its fields fit; a type that lacks one is
            # left to a rule of its own (the catalogue test lists any left without).
            types = [t for t in catalogue if fnmatch.fnmatchcase(t, rule.event)
                     and not t.startswith(OWN_PREFIX)]
            fitting = []
            for event_type in types:
                found: list[str] = []
                _check_against(rule, catalogue[event_type], county, loc,
                               lambda _loc, text, found=found: found.append(text))
                if not found:
                    fitting.append(event_type)
            if not fitting:
                problem((*loc, "event"), f"pattern {rule.event!r} matches no event type whose "
                                         f"data has the rule's fields")
                continue
            pattern_types[rule.name] = frozenset(fitting)
        elif rule.event not in catalogue:
            problem((*loc, "event"), f"unknown event type {rule.event!r}")
            continue
        else:
            _check_against(rule, catalogue[rule.event], county, loc, problem)
        for j, recipient in enumerate(rule.recipients):
            if recipient in PLACE_ROLES or recipient in FIELD_ROLES:
                continue
            if recipient.startswith("field:"):
                continue  # checked per event type above
            if recipient not in units:
                problem((*loc, "recipients", j),
                        f"unreachable unit {recipient!r}: not a role ("
                        f"{', '.join(PLACE_ROLES + FIELD_ROLES)}, field:<name>) nor a unit of "
                        f"the directory")
        for j, channel in enumerate(rule.channels):
            if channel not in CHANNELS:
                problem((*loc, "channels", j),
                        f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
        if len(set(rule.channels)) != len(rule.channels):
            problem((*loc, "channels"), "a channel is listed twice")
        if rule.escalate and "inbox" not in rule.channels:
            problem((*loc, "escalate"), "escalation needs the inbox channel: only an inbox "
                                        "reminder can be acknowledged")
        for j, resolver in enumerate(rule.resolved_by):
            where_ = (*loc, "resolved_by", j)
            if resolver.event not in catalogue or resolver.event.startswith(OWN_PREFIX):
                problem((*where_, "event"), f"unknown event type {resolver.event!r}")
            elif resolver.key not in event_fields(catalogue[resolver.event]):
                problem((*where_, "key"), f"{resolver.event} has no field {resolver.key!r} "
                        f"(it has: {', '.join(sorted(event_fields(catalogue[resolver.event])))})")
        if rule.name in names:
            first = names[rule.name]
            problem((*loc, "id"), f"rule id {rule.name!r} is used twice (routing[{first}]): "
                                  "give each rule of the same event an id")
        names.setdefault(rule.name, i)
        if len(problems) == before:
            rules.append(_normalised(rule, county))
    if problems:
        raise ConfigError("\n".join(problems))
    return RuleSet(rules, county, pattern_types)


def _check_against(rule: Rule, cls: type[CloudEvent], county: County, loc: tuple[Any, ...],
                   problem) -> None:
    fields = event_fields(cls)
    event_type = cls.event_type()
    allowed = fields | set(EXTRA_FIELDS)
    for attr in ("template", "title"):
        text = getattr(rule, attr)
        if text is None:
            continue
        try:
            used = template_fields(text)
        except ValueError as exc:
            problem((*loc, attr), str(exc))
            continue
        for name in sorted(used - allowed):
            problem((*loc, attr), f"{event_type} has no field {name!r} "
                                  f"(it has: {', '.join(sorted(allowed))})")
    if rule.escalate:
        try:
            used = template_fields(rule.escalate.template)
        except ValueError as exc:
            problem((*loc, "escalate", "template"), str(exc))
        else:
            for name in sorted(used - allowed - set(ESCALATION_FIELDS)):
                problem((*loc, "escalate", "template"),
                        f"{event_type} has no field {name!r} (an escalation also has: "
                        f"{', '.join(ESCALATION_FIELDS)})")
    if rule.resolved_by and rule.subject_key not in fields:
        problem((*loc, "subject_key"), f"{event_type} has no field {rule.subject_key!r} naming "
                                       f"what its reminders are about (it has: "
                                       f"{', '.join(sorted(fields))})")
    for key, values in rule.when.items():
        if condition_field(key, fields) is None:
            problem((*loc, "when", key), f"{event_type} has no field {key!r} to test "
                                         f"(it has: {', '.join(sorted(fields))})")
        elif key == "township":
            for value in values:
                if county.township(str(value)) is None:
                    problem((*loc, "when", key), f"unknown township {value!r}")
    for j, recipient in enumerate(rule.recipients):
        name = recipient.removeprefix("field:") if recipient.startswith("field:") else (
            recipient if recipient in FIELD_ROLES else None)
        if name is None:
            continue
        if name not in fields and not has_context(cls):
            problem((*loc, "recipients", j),
                    f"{event_type} has no field {name!r} holding a unit (and no deadline "
                    f"context that could carry it)")
        if recipient.startswith("field:") and not name:
            problem((*loc, "recipients", j), "field: needs a field name")


def _normalised(rule: Rule, county: County) -> Rule:
    """Township names in conditions become codes, so matching compares codes."""
    if "township" not in rule.when:
        return rule
    when = dict(rule.when)
    when["township"] = tuple(county.township(str(v)).code for v in when["township"])  # type: ignore[union-attr]
    return rule.model_copy(update={"when": when})


# -- applying rules to an event --------------------------------------------------------------
def _value(data: Mapping[str, Any], key: str) -> Any:
    if key.startswith("context."):
        return (data.get("context") or {}).get(key.removeprefix("context."))
    if key == "risk_type":
        return data.get("risk_types", data.get("risk_type"))
    return data.get(key)


def matches(rule: Rule, data: Mapping[str, Any]) -> bool:
    for key, wanted in rule.when.items():
        value = _value(data, key)
        have = value if isinstance(value, list) else [value]
        accepted = {str(w) for w in wanted}
        if not any(str(v) in accepted for v in have if v is not None):
            return False
    return True


def subject_value(rule: Rule, data: Mapping[str, Any]) -> str | None:
    """What a reminder of this rule is about, for its resolvers to find (None: no resolver)."""
    if not rule.resolved_by:
        return None
    value = data.get(rule.subject_key)
    return str(value)[:100] if value not in (None, "") else None


def _unit_field(data: Mapping[str, Any], name: str) -> list[str]:
    value = data.get(name)
    if value is None:
        value = (data.get("context") or {}).get(name)
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def resolve_role(role: str, data: Mapping[str, Any], county: County) -> list[str]:
    if role == "township":
        code = data.get("township")
        return [township_unit(code)] if code else []
    if role == "village":
        code = data.get("village")
        return [village_unit(code)] if code else []
    if role == "county":
        return [county.county.lead_unit]
    if role == "responsible":
        conf = county.deadlines.get(data.get("kind") or "")
        return resolve_role(conf.responsible if conf else "township", data, county)
    if role in FIELD_ROLES:
        return _unit_field(data, role)
    if role.startswith("field:"):
        return _unit_field(data, role.removeprefix("field:"))
    return [role]


def resolve_recipients(rule: Rule, data: Mapping[str, Any], county: County) -> list[str]:
    """Unit codes for the rule's recipients; a role the event cannot fill is skipped."""
    units: list[str] = []
    for recipient in rule.recipients:
        for unit in resolve_role(recipient, data, county):
            if unit not in units:
                units.append(unit)
    return units


class _Values(dict):
    """Template values: None shows as a dash, a list joined, a missing context key a dash."""

    def __missing__(self, key: str) -> str:
        return MISSING


def _show(value: Any) -> Any:
    if value is None:
        return MISSING
    if isinstance(value, list):
        return "、".join(str(_show(v)) for v in value) or MISSING
    if isinstance(value, dict):
        return _Values({k: _show(v) for k, v in value.items()})
    return value


def template_values(event_type: str, event_time, data: Mapping[str, Any], county: County,
                    unit: str = "", unit_name: str = "", rule: str = "",
                    fields: Iterable[str] | None = None) -> _Values:
    """What a template may show; only `fields` are computed when given (the hot path)."""
    values = _Values()
    for name in (data.keys() | set(EXTRA_FIELDS)) if fields is None else fields:
        if name in data:
            values[name] = _show(data[name])
        elif name == "township_name":
            township = _township(county, data.get("township"))
            values[name] = township.name if township else (data.get("township") or MISSING)
        elif name == "village_name":
            village = data.get("village")
            listed = next((v for v in county.villages if v.code == village), None)
            values[name] = listed.name if listed else (village or MISSING)
        elif name == "event_type":
            values[name] = event_type
        elif name == "event_time":
            values[name] = event_time.isoformat()
        elif name == "event_date":
            from fangpin_common.clock import business_date

            values[name] = business_date(event_time).isoformat()
        elif name == "unit":
            values[name] = unit
        elif name == "unit_name":
            values[name] = unit_name or unit
        elif name == "rule":
            values[name] = rule
    return values


_townships: dict[int, tuple[County, dict[str, Any]]] = {}


def _township(county: County, code: str | None):
    if not code:
        return None
    cached = _townships.get(id(county))
    if cached is None or cached[0] is not county:
        cached = _townships[id(county)] = (county, {})
    found = cached[1].get(code)
    if found is None:
        found = cached[1][code] = county.township(code)
    return found


def render_text(template: str, values: Mapping[str, Any]) -> str:
    return template.format_map(values if isinstance(values, _Values) else _Values(values))


def render(template: str, event: CloudEvent, county: County, unit_name: str = "") -> str:
    data = event.data.model_dump(mode="json")
    return render_text(template, template_values(event.type, event.time, data, county,
                                                 unit_name=unit_name))
