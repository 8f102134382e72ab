"""Pure directory rules: valid contacts, the chain of parents, who is reachable how."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fangpin_common.county import ConfigError, County, line_of, township_unit

EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
MOBILE = re.compile(r"^1\d{10}$")


def email_problem(value: str) -> str | None:
    return None if EMAIL.match(value) else f"不是有效的电子邮件地址：{value}"


def mobile_problem(value: str) -> str | None:
    return None if MOBILE.match(value) else f"不是有效的手机号码（11位，以1开头）：{value}"


def url_problem(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    return f"不是有效的 http(s) 地址：{value}"


CHECKS = {"email": email_problem, "mobile": mobile_problem, "wecom_webhook": url_problem,
          "dingtalk_webhook": url_problem, "webhook_url": url_problem}


def contact_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every contact that is set and malformed."""
    return [(name, problem) for name, check in CHECKS.items()
            if values.get(name) and (problem := check(str(values[name])))]


def parent_problem(code: str, parent: str | None, parents: Mapping[str, str | None]) -> str | None:
    """Refuses a parent that does not exist or that would make the chain go round."""
    if parent is None:
        return None
    if parent not in parents:
        return f"上级单位 {parent} 不存在"
    seen = {code}
    at: str | None = parent
    while at is not None:
        if at in seen:
            return f"上级单位 {parent} 会形成循环（{code} 是它的上级之一）"
        seen.add(at)
        at = parents.get(at)
    return None


def check_seed(county: County, source_text: str | None = None) -> None:
    """The county file's units: contacts well-formed, parents reachable. Names the line."""
    node = None
    if source_text:
        import yaml

        node = yaml.compose(source_text)
    problems: list[str] = []
    parents = {u.code: u.parent for u in county.all_units()}
    for i, unit in enumerate(county.units):
        def where(*loc: Any, i: int = i) -> str:
            return f"line {line_of(node, ('units', i, *loc))}: " if node is not None else ""

        for name, problem in contact_problems(unit.model_dump()):
            problems.append(f"{where(name)}units[{i}].{name}: {problem}")
        if problem := parent_problem(unit.code, unit.parent, parents):
            problems.append(f"{where('parent')}units[{i}].parent: unreachable unit: {problem}")
        for j, person in enumerate(unit.people):
            for name, problem in contact_problems(person.model_dump()):
                problems.append(f"{where('people', j, name)}units[{i}].people[{j}].{name}: "
                                f"{problem}")
    if problems:
        raise ConfigError("\n".join(problems))


@dataclass(frozen=True)
class Entry:
    code: str
    name: str
    level: str
    parent: str | None
    township: str | None
    active: bool
    # channel → addresses (e-mail addresses, mobiles, robot or webhook URLs)
    addresses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Directory:
    """A read-only snapshot of the directory, used to route and to escalate."""

    entries: Mapping[str, Entry]
    lead_unit: str

    def name_of(self, code: str) -> str:
        entry = self.entries.get(code)
        if entry:
            return entry.name
        if code.startswith("village."):  # villages may arrive with households, unlisted
            return f"{code.removeprefix('village.')}村民委员会"
        return code

    def addresses(self, code: str, channel: str) -> tuple[str, ...]:
        entry = self.entries.get(code)
        if entry is None or not entry.active:
            return ()
        return entry.addresses.get(channel, ())

    def reachable(self, code: str, channel: str) -> bool:
        return bool(self.addresses(code, channel))

    def parent_of(self, code: str, township: str | None) -> str | None:
        """The level above: the unit's parent; a village not in the directory reports to its
        township; an unknown unit to the county lead unit (unless it is that unit)."""
        entry = self.entries.get(code)
        if entry is not None:
            return entry.parent
        if code.startswith("village.") and township:
            return township_unit(township)
        return None if code == self.lead_unit else self.lead_unit


def addresses_of(unit: Mapping[str, Any], people: Iterable[Mapping[str, Any]]
                 ) -> dict[str, tuple[str, ...]]:
    active = [p for p in people if p.get("active", True)]

    def collect(*values: Any) -> tuple[str, ...]:
        out: list[str] = []
        for v in values:
            if v and v not in out:
                out.append(v)
        return tuple(out)

    return {
        "email": collect(unit.get("email"), *(p.get("email") for p in active)),
        "sms": collect(unit.get("mobile"), *(p.get("mobile") for p in active)),
        "wecom": collect(unit.get("wecom_webhook")),
        "dingtalk": collect(unit.get("dingtalk_webhook")),
        "webhook": collect(unit.get("webhook_url")),
    }
