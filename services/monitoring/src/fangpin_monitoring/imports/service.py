"""Bulk import of households from CSV or XLSX (X1), with the single-household API's rules.

One pass over the uploaded file (spooled to disk by the upload, read as a stream) checks every
row and keeps, per member, only a compact tuple of the checked values and, per household, the
few values the cross-row and database checks need; the database checks follow in batches.
If the file is clean (or only the valid households are wanted) the households are written in
batches. Memory grows with the number of people (a few hundred bytes each), never with the
file's cells: a 100,000-member file needs on the order of 100 MB, not gigabytes. Never commits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import IO, Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import HOUSEHOLD_EDIT_FIELDS, County
from fangpin_common.db import bulk_insert
from fangpin_common.errors import Conflict, DomainError
from fangpin_common.ids import new_id
from fangpin_monitoring.changes import service as changes
from fangpin_monitoring.households import permissions
from fangpin_monitoring.households import service as households
from fangpin_monitoring.households.events import household_upserted
from fangpin_monitoring.households.models import Household, HouseholdFields, Member, MemberCreate
from fangpin_monitoring.imports import reader
from fangpin_monitoring.imports import rules as r
from fangpin_monitoring.imports.models import ImportReport, RowErrorRead

MAX_REPORTED = 1000
MAX_TITLE_ROWS = 10  # rows above the header that may hold a title
CHUNK = 500  # keys / ID numbers per database look-up
BATCH = 500  # households per bulk insert (COPY on PostgreSQL)
COLUMN_ORDER = {c.header: i for i, c in enumerate(r.COLUMNS)}
MEMBER_FIELDS = tuple(MemberCreate.model_fields)


class FileRejected(DomainError):
    """A file with row errors: 422 listing every error (the first MAX_REPORTED of them)."""

    def __init__(self, errors: list[RowErrorRead], total: int) -> None:
        super().__init__("file", f"文件有 {total} 处错误，未导入任何数据", "file_has_errors")
        self.errors = errors
        self.total = total

    def detail(self) -> list[dict]:
        items = [{"loc": ["body", "file", e.row, e.header], "msg": e.msg, "type": e.type,
                  "row": e.row, "column": e.column, "header": e.header,
                  "household_key": e.household_key} for e in self.errors]
        if self.total > len(self.errors):
            items.append({"loc": ["body", "file"], "type": "too_many_errors",
                          "msg": f"另有 {self.total - len(self.errors)} 处错误未列出，"
                                 "请改正后重新上传"})
        return items


def file_error(message: str, code: str = "bad_file") -> DomainError:
    return DomainError("file", message, code)


@dataclass(slots=True)
class Group:
    """One household of the file, as far as the checks need it."""

    key: str
    first_row: int
    rows: int = 0
    heads: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    value_rows: dict[str, int] = field(default_factory=dict)
    bad: bool = False
    township: str | None = None
    target: str | None = None  # the registered household this group replaces
    members: list[tuple] = field(default_factory=list)  # checked values, MEMBER_FIELDS order


class Importer:
    def __init__(self, session: AsyncSession, principal: Principal, county: County,
                 clock: Clock, file: IO[bytes], filename: str | None) -> None:
        self.session, self.principal, self.county, self.clock = session, principal, county, clock
        self.file, self.filename = file, filename
        self.today, self.now = clock.today(), clock.now()
        self.groups: dict[str, Group] = {}
        self.people: dict[str, tuple[int, str]] = {}  # ID number → (row, household key)
        self.errors: list[tuple[int, int, str, str, str | None, str]] = []
        self.data_rows = 0
        self._shared: dict[Any, Any] = {}
        self.created_ids: list[str] = []
        self.header_row = 0
        self.layout: r.Layout | None = None
        self.fmt = ""

    # -- pass 1: check ----------------------------------------------------------------------
    def error(self, row: int, column: r.TemplateColumn, message: str, key: str | None,
              code: str = "invalid") -> None:
        letter = self.layout.letter(column) if column.header in self.layout.positions else "-"
        self.errors.append((row, COLUMN_ORDER[column.header], letter, column.header, key,
                            f"{code}\x00第 {row} 行 {letter} 列（{column.header}）：{message}"))
        if key is not None and key in self.groups:
            group = self.groups[key]
            group.bad, group.members = True, []  # skipped whole: its members are not kept

    def scan(self) -> None:
        """Read and check every row (CPU only: runs in a worker thread)."""
        try:
            self.fmt = reader.detect_format(self.file, self.filename)
            for number, row in reader.rows(self.file, self.fmt):
                if self.layout is None:
                    # Title rows above the header (a common habit) are passed over.
                    if _blank(row) or (number < MAX_TITLE_ROWS and not any(
                            r.normalise_header(v) in r.BY_HEADER for v in row)):
                        continue
                    self.layout = r.layout_of(row)
                    self.header_row = number
                    continue
                if not _blank(row):
                    self.data_rows += 1
                    self.check_row(number, row)
        except (reader.FileProblem, r.HeaderProblem) as exc:
            raise file_error(str(exc)) from exc
        if self.layout is None:
            raise file_error("文件为空：没有表头和数据", "empty_file")
        if self.data_rows == 0:
            raise file_error("文件中没有数据行：表头之后没有任何成员", "empty_file")
        for group in self.groups.values():
            self.check_group(group)

    def check_row(self, number: int, row: tuple[Any, ...]) -> None:
        layout = self.layout
        key = r.text_of(row[layout.positions[r.KEY.header]]
                        if layout.positions[r.KEY.header] < len(row) else None)
        group = None
        if key is None:
            self.error(number, r.KEY, "必填项未填写（同一户的成员填写相同的户编号）", None,
                       "required")
        else:
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = Group(key, number)
            group.rows += 1
        values, problems = r.cells(layout, row, r.MEMBER_COLUMNS)
        for column, reason in problems:
            self.error(number, column, reason, key)
        household_values, problems = r.cells(layout, row, r.HOUSEHOLD_COLUMNS, require=False)
        for column, reason in problems:
            self.error(number, column, reason, key)
        if group is not None:
            for name, value in household_values.items():
                if name not in group.values:
                    group.values[name], group.value_rows[name] = value, number
                elif group.values[name] != value:
                    self.error(number, r.HOUSEHOLD_BY_FIELD[name],
                               f"与本户第 {group.value_rows[name]} 行填写的"
                               f"“{_shown(group.values[name])}”"
                               f"不一致（同一户的户级信息须相同）", key, "inconsistent")
        if values.get("relation") == "户主" and group is not None:
            group.heads += 1
        if not all(c.field in values for c in r.MEMBER_COLUMNS if c.required):
            return
        member, problems = r.member_of(values, self.today)
        for column, reason in problems:
            self.error(number, column, reason, key)
        if member is None or problems:
            return
        if group is not None and not group.bad:
            group.members.append(tuple(self.shared(getattr(member, name))
                                       for name in MEMBER_FIELDS))
        seen = self.people.get(member.id_number)
        if seen is not None:
            first_row, first_key = seen
            where = ("本户" if first_key == key else f"户编号 {first_key} 的")
            self.error(number, r.MEMBER_BY_FIELD["id_number"],
                       f"与{where}第 {first_row} 行身份证号相同：同一人不能重复登记"
                       + ("" if first_key == key else
                          f"，不能同时登记在户编号 {first_key} 和户编号 {key}"), key, "duplicate")
        elif key is not None:
            self.people[member.id_number] = (number, key)

    def shared(self, value: Any) -> Any:
        """One object for each repeated short value (男, 户主, 健康, a date …): kept members
        then cost little more than their names and ID numbers."""
        if isinstance(value, (str, date)) and not (isinstance(value, str) and len(value) > 4):
            return self._shared.setdefault(value, value)
        return value

    def check_group(self, group: Group) -> None:
        values, key = group.values, group.key

        def at(name: str) -> int:
            return group.value_rows.get(name, group.first_row)

        for column in r.HOUSEHOLD_COLUMNS:
            if column.required and column.field not in values:
                self.error(group.first_row, column, "必填项未填写（本户各行均未填写）", key,
                           "required")
        if "township" in values:
            township = self.county.township(str(values["township"]))
            if township is None:
                self.error(at("township"), r.HOUSEHOLD_BY_FIELD["township"],
                           f"未知乡镇：{values['township']}（应为本县乡镇之一）", key,
                           "unknown_township")
            else:
                group.township = township.code
                if not self.principal.can_reach(township.code, values.get("village")):
                    self.error(at("township"), r.HOUSEHOLD_BY_FIELD["township"],
                               "无权导入本辖区以外的农户", key, "out_of_scope")
        if "category" in values and (problem := r.category_problem(
                values.get("category"), values.get("monitoring_subcategory"))):
            self.error(at("monitoring_subcategory"),
                       r.HOUSEHOLD_BY_FIELD["monitoring_subcategory"], problem, key)
        try:
            HouseholdFields.model_validate(values | {"township": group.township or "-"})
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else ""
                if name in values:  # missing ones are reported above
                    self.error(at(name), r.HOUSEHOLD_BY_FIELD[name], r.reason_of(err), key)
        if group.heads == 0:
            self.error(group.first_row, r.MEMBER_BY_FIELD["relation"],
                       "本户没有户主：每户须有一名与户主关系为“户主”的成员", key, "no_head")

    async def check_database(self) -> None:
        """Keys that name registered households, and people registered in another household."""
        keys = list(self.groups)
        claimed: dict[str, str] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            found = await self.session.execute(
                select(Household.id, Household.platform_id, Household.township,
                       Household.village).where(or_(Household.id.in_(chunk),
                                                    Household.platform_id.in_(chunk))))
            for row in found:
                key = row.id if row.id in self.groups else row.platform_id
                group = self.groups[key]
                if row.id in claimed:
                    self.error(group.first_row, r.KEY,
                               f"与户编号 {claimed[row.id]} 指向同一已登记农户 {row.id}", key,
                               "duplicate_household")
                    continue
                claimed[row.id] = key
                group.target = row.id
                if not self.principal.can_reach(row.township, row.village):
                    self.error(group.first_row, r.KEY, f"无权修改本辖区以外的农户 {row.id}", key,
                               "out_of_scope")
                elif group.township is not None and group.township != row.township:
                    self.error(group.value_rows.get("township", group.first_row),
                               r.HOUSEHOLD_BY_FIELD["township"],
                               f"已登记农户 {row.id} 属于乡镇 {row.township}，不能通过导入改变乡镇",
                               key, "township_changed")
        people = list(self.people)
        for start in range(0, len(people), CHUNK):
            chunk = people[start:start + CHUNK]
            found = await self.session.execute(
                select(Member.id_number, Member.household_id).where(Member.id_number.in_(chunk)))
            for id_number, other in found:
                row, key = self.people[id_number]
                group = self.groups[key]
                if other != group.target:
                    here = group.target or f"户编号 {key}（本次新建户）"
                    self.error(row, r.MEMBER_BY_FIELD["id_number"],
                               f"该身份证号已登记在户 {other}，不能同时登记在户 {here}", key,
                               "person_in_other_household")

    async def check_permissions(self) -> None:
        """Edits limited by level: a file updating registered households may change only what
        the uploader's level may change (each refused change named by row and column)."""
        allowed = self.county.field_permissions.allowed(self.principal.role)
        if allowed >= set(HOUSEHOLD_EDIT_FIELDS):
            return
        targets = [g for g in self.groups.values() if g.target is not None and not g.bad]
        for start in range(0, len(targets), CHUNK):
            chunk = {g.target: g for g in targets[start:start + CHUNK]}
            stored = (await self.session.execute(
                select(Household).where(Household.id.in_(list(chunk))))).scalars().all()
            members = await households.members_of(self.session, list(chunk))
            for household in stored:
                self.check_group_permissions(chunk[household.id],
                                             households.snapshot(household,
                                                                 members[household.id]))

    def check_group_permissions(self, group: Group, before: dict[str, Any]) -> None:
        fields = self.household_fields(group)
        fields.pop("township")
        sent = [dict(zip(MEMBER_FIELDS, values, strict=True)) for values in group.members]
        after = permissions.restore_masked(before, fields | {"members": sent})
        forbidden = permissions.forbidden_changes(self.principal.role, before, after,
                                                  self.county.field_permissions)
        if not forbidden:
            return
        for path in forbidden:
            row, column = group.first_row, r.KEY
            if path.startswith("members["):
                index = int(path[len("members["):path.index("]")])
                row = self.people.get(sent[index]["id_number"], (row,))[0]
                field = path.split(".", 1)[1] if "." in path else "id_number"
                column = r.MEMBER_BY_FIELD.get(field, r.KEY)
            elif path in r.HOUSEHOLD_BY_FIELD:
                row = group.value_rows.get(path, row)
                column = r.HOUSEHOLD_BY_FIELD[path]
            self.error(row, column, permissions.refusal_message(self.principal.role, [path]),
                       group.key, "field_not_permitted")

    # -- pass 2: write ----------------------------------------------------------------------
    async def write(self) -> tuple[int, int, int]:
        created = stored = 0
        batch: list[tuple[Group, list[dict[str, Any]]]] = []
        replaced: list[Group] = []
        for group in self.groups.values():
            if group.bad:
                continue
            stored += len(group.members)
            if group.target is not None:
                replaced.append(group)
                continue
            batch.append((group, [dict(zip(MEMBER_FIELDS, values, strict=True))
                                  for values in group.members]))
            group.members = []
            created += 1
            if len(batch) >= BATCH:
                await self.insert(batch)
                batch = []
        await self.insert(batch)
        logged = [(h, 1) for h in self.created_ids]
        for group in replaced:
            household = await self.replace(group, [MemberCreate.model_validate(
                dict(zip(MEMBER_FIELDS, values, strict=True))) for values in group.members])
            logged.append((household.id, household.revision))
        # Logging holds the change log's tail until the commit (changes/service.py): once,
        # after every other write of the import.
        await self.session.flush()
        await changes.record(self.session, logged, "import", self.now)
        return created, len(replaced), stored

    def household_fields(self, group: Group) -> dict[str, Any]:
        present = {c.field for c in r.HOUSEHOLD_COLUMNS if c.header in self.layout.positions}
        fields = {c.field: group.values.get(c.field, False if c.kind == "bool" else None)
                  for c in r.HOUSEHOLD_COLUMNS if c.field in present}
        fields["township"] = group.township
        return fields

    def build(self, batch: list[tuple[Group, list[dict[str, Any]]]]) -> tuple[list, ...]:
        # Plain rows, not ORM objects: building 100,000 instrumented instances costs more
        # than writing them. The event and the audit entry read the same rows.
        household_rows, member_rows, events, entries = [], [], [], []
        for group, data in batch:
            household = NEW_HOUSEHOLD | self.household_fields(group) | {
                "id": new_id(), "head_name": next(m for m in data
                                                      if m["relation"] == "户主")["name"],
                "created_at": self.now, "updated_at": self.now}
            members = [{"id": new_id(), "household_id": household["id"], **m} for m in data]
            household_rows.append(household)
            member_rows.extend(members)
            events.append(household_upserted(SimpleNamespace(**household),
                                              [SimpleNamespace(**m) for m in members], self.now))
            entries.append({"entity_type": "household", "entity_id": household["id"],
                            "action": "import", "before": None,
                            "after": _json(household) | {"members": [_json(m) for m in members]}})
        return household_rows, member_rows, events, entries

    async def insert(self, batch: list[tuple[Group, list[dict[str, Any]]]]) -> None:
        if not batch:
            return
        # Built in a worker thread, so that a big import leaves the event loop to other requests.
        household_rows, member_rows, events, entries = await asyncio.to_thread(self.build, batch)
        await bulk_insert(self.session, Household.__table__, household_rows)
        await bulk_insert(self.session, Member.__table__, member_rows)
        await audit.record_many(self.session, self.principal, entries, self.now)
        await outbox.emit_many(self.session, events)
        self.created_ids.extend(row["id"] for row in household_rows)

    async def replace(self, group: Group, data: list[MemberCreate]) -> Household:
        household, members = await households.get_household(self.session, group.target,
                                                            self.principal, lock=True)
        fields = self.household_fields(group)
        fields.pop("township")
        household, _ = await households.replace_household(
            self.session, household, members, fields, data, self.principal, self.now,
            origin="import", log_change=False)
        return household

    # -- the whole import -------------------------------------------------------------------
    async def run(self, valid_only: bool) -> ImportReport:
        await asyncio.to_thread(self.scan)
        await self.check_database()
        await self.check_permissions()
        self.errors.sort()
        reported = [_read(e) for e in self.errors[:MAX_REPORTED]]
        if self.errors and not valid_only:
            raise FileRejected(reported, len(self.errors))
        try:
            created, updated, stored = await self.write()
            await self.session.flush()
        except IntegrityError as exc:
            raise Conflict("导入期间有其他操作登记了文件中的人员或农户，未导入任何数据，"
                           "请重新上传") from exc
        skipped = [g.key for g in self.groups.values() if g.bad]
        return ImportReport(
            format=self.fmt, valid_only=valid_only, rows=self.data_rows,
            households=len(self.groups), created=created, updated=updated, members=stored,
            skipped_households=len(skipped), skipped_keys=skipped[:MAX_REPORTED],
            error_count=len(self.errors), errors=reported,
            ignored_columns=list(self.layout.ignored))


# Every column of a new household row (the file may lack the optional ones).
NEW_HOUSEHOLD: dict[str, Any] = {
    "monitoring_subcategory": None, "address": None, "phone": None, "relocation_site": False,
    "whole_household_dibao": False, "dangerous_house_renovation": False, "disaster_hit": False,
    "revision": 1, "platform_id": None}


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in values.items()}


def _blank(row: tuple[Any, ...]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in row)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return r.YES if value else r.NO
    return str(value)


def _read(error: tuple) -> RowErrorRead:
    row, _, letter, header, key, coded = error
    code, message = coded.split("\x00", 1)
    return RowErrorRead(row=row, column=letter, header=header, household_key=key, type=code,
                        msg=message)


async def import_households(session: AsyncSession, principal: Principal, county: County,
                            clock: Clock, file: IO[bytes], filename: str | None,
                            valid_only: bool = False) -> ImportReport:
    return await Importer(session, principal, county, clock, file, filename).run(valid_only)
