"""No lost update: every mutable resource carries a revision, shown as its `ETag`.

The convention, the same for every resource:
- the table has an integer column `revision` (1 when created) and the read schema shows it;
- every read of one resource answers with `ETag: "<revision>"`;
- a write must name the revision it was based on, in `If-Match` (the ETag as read) or as
  `revision` in the body. Neither: 428 (a client that does not say what it saw could undo a
  change it never saw, so the precondition is mandatory, not optional);
- the write starts with `claim`: one `UPDATE … SET revision = revision + 1 WHERE key = :key
  AND revision = :expected`. The database lets one writer win (a row lock on PostgreSQL, one
  writer at a time on SQLite), so of two clerks who read revision 3, exactly one moves it to 4
  and the other gets 412 with the current revision and what changed since revision 3 (taken
  from the audit trail), never a silent overwrite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.audit import history
from fangpin_common.errors import DomainError, NotFound

# Audit fields that change with every write and say nothing to the person who lost the race.
_BOOKKEEPING = {"revision", "updated_at", "edited_at", "created_at"}


def etag(revision: int) -> str:
    return f'"{revision}"'


def parse_etag(value: str) -> int | None:
    """The revision an `If-Match` value names (`"3"`, `W/"3"` or `3`), None if it names none."""
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    return int(value) if value.isdigit() and len(value) < 10 else None


def set_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag(revision)


class PreconditionRequired(HTTPException):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(428, detail={
            "msg": message or ("修改须注明所依据的版本：请在请求头 If-Match 中带上读取时返回的 "
                               "ETag，或在请求体中带上 revision，以免覆盖他人刚做的修改"),
            "type": "precondition_required"})


class StaleRevision(HTTPException):
    """412: the resource changed since the revision the write was based on."""

    def __init__(self, label: str, expected: int, current: int,
                 changes: list[dict[str, Any]]) -> None:
        fields = sorted({f for c in changes for f in c["fields"]})
        who = "、".join(sorted({c["actor"] for c in changes if c.get("actor")}))
        what = f"，改动了：{'、'.join(fields)}" if fields else ""
        by = f"（修改人：{who}）" if who else ""
        super().__init__(412, headers={"ETag": etag(current)}, detail={
            "msg": f"该{label}已被他人修改：您依据的是第 {expected} 版，当前为第 {current} 版"
                   f"{by}{what}。请重新读取最新内容，核对后再提交。",
            "type": "stale_revision",
            "your_revision": expected,
            "current_revision": current,
            "changes": changes,
        })


async def if_match(request: Request) -> int | None:
    """The revision named by `If-Match`, None when the header is absent."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    revision = parse_etag(header)
    if revision is None:
        raise PreconditionRequired(
            f"If-Match 须为读取时返回的 ETag（如 \"3\"），不能是 {header[:40]!r}")
    return revision


IfMatch = Annotated[int | None, Depends(if_match)]


def expected_revision(if_match: int | None, body_revision: int | None) -> int:
    """The revision a write is based on: If-Match, or the body's `revision`; both must agree."""
    if if_match is None and body_revision is None:
        raise PreconditionRequired()
    if if_match is not None and body_revision is not None and if_match != body_revision:
        raise DomainError("revision", f"请求体中的版本 {body_revision} 与请求头 If-Match 的版本 "
                          f"{if_match} 不一致", "revision_mismatch")
    return if_match if if_match is not None else body_revision  # type: ignore[return-value]


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                   labels: Mapping[str, str] | None = None) -> list[str]:
    """The (labelled) fields that differ between two audit snapshots."""
    before, after = before or {}, after or {}
    labels = labels or {}
    return [labels.get(k, k) for k in sorted(set(before) | set(after))
            if k not in _BOOKKEEPING and before.get(k) != after.get(k)]


async def changes_since(session: AsyncSession, entity_type: str, entity_id: str,
                        expected: int, key: tuple[str, str] | None = None,
                        labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """What the audit trail says changed after revision `expected`: who, when, which fields
    (names only: the values may be personal data the reader may not see). `key` picks the
    entries of one row when several rows share the audit entity (a case's measures)."""
    out = []
    for entry in await history(session, entity_type, entity_id):
        after = entry["after"] or {}
        if key is not None and after.get(key[0]) != key[1]:
            continue
        revision = after.get("revision")
        if not isinstance(revision, int) or revision <= expected:
            continue
        out.append({"revision": revision, "at": entry["at"].isoformat(), "actor": entry["actor"],
                    "fields": changed_fields(entry["before"], after, labels)})
    return out


async def claim(session: AsyncSession, model: Any, key: Any, expected: int, *, label: str,
                key_column: str = "id", audit: tuple[str, str] | None = None,
                audit_key: tuple[str, str] | None = None,
                labels: Mapping[str, str] | None = None) -> int:
    """Compare-and-set the row's revision from `expected` to `expected + 1`; the new revision.

    The database lets one writer through: on SQLite a write transaction already holds the
    database; on PostgreSQL the UPDATE waits for a concurrent writer's commit, then re-checks
    the revision. Read the row (again) after it — refresh or populate_existing, so the
    changes apply to what is stored now — and do not bump the revision again. A stale
    `expected` raises 412; `audit` (entity type, id) is where the changes since are recorded
    (the row itself by default)."""
    key_attr = getattr(model, key_column)
    revision = model.revision
    new = (await session.execute(
        update(model).where(key_attr == key, revision == expected)
        .values(revision=revision + 1).returning(revision)
        .execution_options(synchronize_session=False))).scalar()
    if new is not None:
        return new
    current = (await session.execute(select(revision).where(key_attr == key))).scalar()
    if current is None:
        raise NotFound(f"{label} {key} 不存在")
    entity_type, entity_id = audit or (model.__tablename__, str(key))
    changes = await changes_since(session, entity_type, entity_id, expected, audit_key, labels)
    raise StaleRevision(label, expected, current, changes)
