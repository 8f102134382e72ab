"""Edits limited by level (限级修改, M10): which changes a role may make to a household.

Pure functions over plain dicts: `before` is the stored household (its fields and its members,
each with its `id`), `after` the fields a write sends (only those it sets) and its members
(each with an optional `id`; without one a member is matched by ID number). A value sent back
as it was stored is no change, and neither is a masked ID number or phone sent back as the
mask the caller was shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from fangpin_common.auth import mask_id_number, mask_phone
from fangpin_common.county import FieldPermissions

ROLE_NAMES = {"county": "县级", "township": "乡镇", "village": "村级", "department": "部门",
              "platform": "平台"}
LABELS = {
    "township": "乡镇", "village": "村（社区）", "category": "户类别",
    "monitoring_subcategory": "监测对象类别", "address": "住址", "phone": "联系电话",
    "relocation_site": "易地搬迁安置", "whole_household_dibao": "整户低保",
    "dangerous_house_renovation": "危改户", "disaster_hit": "受灾",
    "members.add": "新增成员", "members.remove": "删除成员",
    "name": "成员姓名", "id_number": "成员身份证号", "sex": "成员性别",
    "birth_date": "成员出生日期", "relation": "与户主关系", "labour_capacity": "劳动能力",
    "in_school": "在校生", "health": "健康状况", "phone_member": "成员联系电话",
    "deceased": "已故",
}
HOUSEHOLD_FIELDS = ("township", "village", "category", "monitoring_subcategory", "address",
                    "phone", "relocation_site", "whole_household_dibao",
                    "dangerous_house_renovation", "disaster_hit")
MEMBER_FIELDS = ("name", "id_number", "sex", "birth_date", "relation", "labour_capacity",
                 "in_school", "health", "phone", "deceased")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, date):
        a = a.isoformat()
    if isinstance(b, date):
        b = b.isoformat()
    if a == "":
        a = None
    if b == "":
        b = None
    return a == b


def pair_members(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
                 ) -> tuple[list[tuple[int, Mapping[str, Any]]], list[int], list[Mapping]]:
    """(after index, stored member) for each member kept; after indexes of members added;
    stored members removed. An `id` pairs first, then the ID number (or its mask)."""
    by_id = {m["id"]: m for m in before}
    taken: set[str] = set()
    pairs: list[tuple[int, Mapping[str, Any]]] = []
    added: list[int] = []
    pending: list[int] = []
    for i, member in enumerate(after):
        stored = by_id.get(member.get("id")) if member.get("id") else None
        if stored is not None and stored["id"] not in taken:
            taken.add(stored["id"])
            pairs.append((i, stored))
        else:
            pending.append(i)
    for i in pending:
        number = after[i].get("id_number")
        stored = next((m for m in before if m["id"] not in taken and (
            m["id_number"] == number or mask_id_number(m["id_number"]) == number)), None)
        if stored is None:
            added.append(i)
        else:
            taken.add(stored["id"])
            pairs.append((i, stored))
    removed = [m for m in before if m["id"] not in taken]
    return sorted(pairs, key=lambda p: p[0]), added, removed


def restore_masked(before: Mapping[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`after` with masked values sent back unchanged replaced by the stored ones."""
    restored = dict(after)
    if "phone" in restored and _masks(restored["phone"], before.get("phone"), mask_phone):
        restored["phone"] = before.get("phone")
    members = [dict(m) for m in after.get("members", [])]
    pairs, _, _ = pair_members(before.get("members", []), members)
    for i, stored in pairs:
        member = members[i]
        if _masks(member.get("id_number"), stored["id_number"], mask_id_number):
            member["id_number"] = stored["id_number"]
        if _masks(member.get("phone"), stored.get("phone"), mask_phone):
            member["phone"] = stored.get("phone")
    if "members" in after:
        restored["members"] = members
    return restored


def _masks(sent: Any, stored: Any, mask: Callable[[Any], Any]) -> bool:
    return (isinstance(sent, str) and "*" in sent and stored is not None
            and sent == mask(stored) and sent != stored)


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(permission key, field path) of each change `after` makes to `before`."""
    found: list[tuple[str, str]] = []
    for field in HOUSEHOLD_FIELDS:
        if field in after and not _same(after[field], before.get(field)):
            found.append((field, field))
    if "members" in after:
        pairs, added, removed = pair_members(before.get("members", []), after["members"])
        for i, stored in pairs:
            sent = after["members"][i]
            for field in MEMBER_FIELDS:
                if field in sent and not _same(sent[field], stored.get(field)):
                    found.append((f"member.{field}", f"members[{i}].{field}"))
        found.extend(("members.add", f"members[{i}]") for i in added)
        found.extend(("members.remove", f"members.remove[{m['id']}]") for m in removed)
    return found


def forbidden_changes(role: str, before: Mapping[str, Any], after: Mapping[str, Any],
                      permissions: FieldPermissions) -> list[str]:
    """The field paths `after` changes that `role` may not change (empty: the write is
    allowed). Additions read members[i]; a removal names the removed member's id."""
    allowed = permissions.allowed(role)
    return [path for key, path in changes(before, after) if key not in allowed]


def label_of(path: str) -> str:
    if path.startswith("members.remove"):
        return LABELS["members.remove"]
    if path.startswith("members[") and "." not in path:
        return LABELS["members.add"]
    field = path.rsplit(".", 1)[-1]
    if path.startswith("members[") and field == "phone":
        return LABELS["phone_member"]
    return LABELS.get(field, field)


def refusal_message(role: str, paths: Sequence[str]) -> str:
    """'村级账号无权修改字段：户类别（category）、…' naming each field."""
    shown = "、".join(f"{label_of(p)}（{p}）" for p in paths)
    return f"{ROLE_NAMES.get(role, role)}账号无权修改字段：{shown}"
