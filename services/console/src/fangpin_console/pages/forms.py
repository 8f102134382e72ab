"""HTML form fields ↔ the services' JSON: field names are the JSON paths (`members.0.name`),
so a 422's `detail[].loc` names the very input to show the message at."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData


def _set(target: Any, parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    key: Any = int(head) if head.isdigit() else head
    if isinstance(target, list):
        while len(target) <= key:
            target.append({})
    if not rest:
        target[key] = value
        return
    if isinstance(target, dict) and key not in target:
        target[key] = [] if rest[0].isdigit() else {}
    _set(target[key], rest, value)


def unflatten(form: FormData, *, lists: tuple[str, ...] = (), booleans: tuple[str, ...] = (),
              skip: tuple[str, ...] = ("csrf_token",)) -> dict[str, Any]:
    """Nested JSON from a form. Empty inputs are left out (the service applies its defaults);
    `lists` are multi-valued fields (checkboxes); `booleans` are checkbox names, false when
    absent (a name ending in `.*` applies to that field of every list item)."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(form.keys()):
        if name in skip:
            continue
        if name in lists:
            out[name] = [v for v in form.getlist(name) if v]
            continue
        value = form.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value in ("", None):
            continue
        if value in ("true", "false") and _is_boolean(name, booleans):
            value = value == "true"
        _set(out, name.split("."), value)
    for name in booleans:
        if "*" not in name and name not in form:
            _set(out, name.split("."), False)
    return out


def _is_boolean(name: str, booleans: tuple[str, ...]) -> bool:
    generic = ".".join("*" if p.isdigit() else p for p in name.split("."))
    return name in booleans or generic in booleans
