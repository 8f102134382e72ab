"""Departmental data comparison and the warning lifecycle. Never commits.

Matching is set-based: the file's rows go into `department_rows` in one statement, then a few
statements join them against members (by resident ID) or households (by village), rank rows
that fall on the same person or household, and insert the new warnings with INSERT … SELECT,
skipping any person or household that already has an open warning of the kind.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

from fastapi import HTTPException, status
from sqlalchemy import (
    Date,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox
from fangpin_common.auth import Principal, ensure_reach, mask_id_number, within_reach
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.db import UTCDateTime
from fangpin_common.deadlines import meet_deadline, open_deadline, open_deadlines
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_monitoring.cases.models import Case
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.identification import service as identification
from fangpin_monitoring.identification.models import Identification
from fangpin_monitoring.warnings import events, rules
from fangpin_monitoring.warnings.files import FileProblem, detect_format, parse_file
from fangpin_monitoring.warnings.kinds import WarningKind, kinds_of
from fangpin_monitoring.warnings.models import (
    ClueCreate,
    DepartmentRow,
    DepartmentUpload,
    OutsideSystemRow,
    RiskWarning,
    RowIssue,
    UploadReport,
    WarningRead,
    WarningVerify,
)

ROWS = DepartmentRow.__table__
WARNINGS = RiskWarning.__table__
MEMBERS = Member.__table__
HOUSEHOLDS = Household.__table__
ISSUES_SHOWN = 500
CLUE_KIND = "clue"
CLUE_KIND_NAME = "风险线索"


def verification_rule(county: County):
    return county.deadline_rule(rules.VERIFICATION_DEADLINE, rules.DEFAULT_VERIFICATION_DAYS,
                                rules.DEFAULT_VERIFICATION_WARN)


def kind_or_422(county: County, code: str) -> WarningKind:
    kinds = kinds_of(county)
    kind = kinds.get(code)
    if kind is None:
        raise DomainError("kind", f"未知的比对数据类别 {code}（可选：{'、'.join(kinds)}）",
                          "unknown_kind")
    return kind


def kind_name(county: County, code: str) -> str:
    kind = kinds_of(county).get(code)
    return kind.name if kind else CLUE_KIND_NAME if code == CLUE_KIND else code


def department_name(county: County, kind: WarningKind) -> str:
    unit = county.unit(kind.department)
    return unit.name if unit else kind.department


# -- import ------------------------------------------------------------------------------------

async def import_file(session: AsyncSession, *, kind_code: str, period: str, filename: str,
                      declared_format: str | None, content: bytes, principal: Principal,
                      county: County, clock: Clock) -> DepartmentUpload:
    kind = kind_or_422(county, kind_code)
    if not rules.can_upload(kind, principal.role, principal.department, principal.unit):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"“{kind.name}”数据由{department_name(county, kind)}报送，"
                                   "本单位不能上传")
    today = clock.today()
    if problem := rules.period_problem(period, today):
        raise DomainError("period", problem, "invalid_period")
    try:
        file_format = detect_format(filename, declared_format)
        parsed = parse_file(kind, content, file_format, county, today)
    except FileProblem as exc:
        raise DomainError(["file", *exc.loc], exc.message, exc.code) from exc
    digest = hashlib.sha256(content).hexdigest()
    earlier = (await session.execute(select(DepartmentUpload.id, DepartmentUpload.uploaded_on)
                                     .where(DepartmentUpload.kind == kind.code,
                                            DepartmentUpload.period == period,
                                            DepartmentUpload.sha256 == digest))).first()
    if earlier is not None:
        raise Conflict(f"同一文件已于 {earlier.uploaded_on} 导入（导入批次 {earlier.id}）")

    now = clock.now()
    upload = DepartmentUpload(
        id=new_id(), kind=kind.code, department=kind.department, period=period,
        filename=filename[:200], file_format=file_format, sha256=digest,
        uploaded_by=principal.sub, uploaded_on=today, rows_total=len(parsed.rows),
        rows_invalid=len(parsed.invalid), created_at=now)
    session.add(upload)
    await session.flush()
    dept = department_name(county, kind)
    await _stage(session, [{
        "upload_id": upload.id, "row_no": row.row_no,
        "id_number": row.values.get("id_number"), "name": (row.values.get("name") or None),
        "township": row.values.get("township"), "village": row.values.get("village"),
        "reason": None if row.problem else rules.render_reason(kind, row.values, dept),
        "fields": row.values, "problem": row.problem, "problem_column": row.problem_column,
        "matched_households": 0,
    } for row in parsed.rows])

    rule = verification_rule(county)
    due_on = rule.due_on(today)
    if kind.match == "person":
        await _match_persons(session, upload.id, kind, today, due_on, now)
    else:
        await _match_villages(session, upload.id, kind, today, due_on, now)
    await _count(session, upload, kind)

    # Plain rows, not ORM objects: a file may raise tens of thousands.
    new = (await session.execute(select(WARNINGS).where(WARNINGS.c.upload_id == upload.id)
                                 .order_by(WARNINGS.c.row_no))).all()
    await open_deadlines(session, rule, [{
        "subject_id": w.id, "household_id": w.household_id, "township": w.township,
        "village": w.village, "context": {"warning_id": w.id, "kind": w.kind,
                                          "kind_name": kind.name}} for w in new],
        subject_type="warning", started_on=today, now=now)
    await outbox.emit_many(session, [events.raised(w, now) for w in new])
    session.add(upload)
    await audit.record(session, principal, entity_type="department_upload", entity_id=upload.id,
                       action="import", before=None,
                       after=upload.model_dump(mode="json", exclude={"sha256"}), now=now)
    return upload


STAGED = ["upload_id", "row_no", "id_number", "name", "township", "village", "reason", "fields",
          "problem", "problem_column", "matched_households"]


async def _stage(session: AsyncSession, rows: list[dict]) -> None:
    """The file's rows into `department_rows`: COPY on PostgreSQL, one executemany on SQLite."""
    if session.bind.dialect.name != "postgresql":
        await session.execute(insert(ROWS), rows)
        return
    # The upload row was flushed before, so the transaction is open and COPY joins it.
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(
        ROWS.name, columns=STAGED,
        records=[tuple(json.dumps(r[c], ensure_ascii=False) if c == "fields" else r[c]
                       for c in STAGED) for r in rows])


async def _analyze(session: AsyncSession) -> None:
    """Fresh statistics once the rows are matched: without them PostgreSQL believes no row
    matched and anti-joins each new warning against a table it is filling (quadratic)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"ANALYZE {ROWS.name}"))


def random_id_sql(dialect: str):
    """A random UUID made by the database, one per inserted row."""
    if dialect == "postgresql":
        return cast(func.gen_random_uuid(), String)
    hexed = lambda n: func.lower(func.hex(func.randomblob(n)))  # noqa: E731
    return (hexed(4) + "-" + hexed(2) + "-4" + func.substr(hexed(2), 2) + "-"
            + func.substr("89ab", 1 + func.abs(func.random()) % 4, 1)
            + func.substr(hexed(2), 2) + "-" + hexed(6))


def _warning_values(upload_id: str, kind: WarningKind, key, raised_on: date, due_on: date,
                    now, ranked, dialect: str) -> list:
    """The SELECT list that becomes a warning, in WARNING_COLUMNS order."""
    return [
        random_id_sql(dialect).label("id"),
        literal(kind.code, String), literal("department", String), literal(upload_id, String),
        ranked.c.row_no, ranked.c.household_id, ranked.c.member_id,
        ranked.c.township, ranked.c.village, literal(kind.risk_type, String), ranked.c.reason,
        literal("raised", String), true(), (literal(kind.code + ":", String) + key),
        literal(raised_on, Date), literal(due_on, Date), literal(now, UTCDateTime),
    ]


WARNING_COLUMNS = ["id", "kind", "source", "upload_id", "row_no", "household_id", "member_id",
                   "township", "village", "risk_type", "reason", "status", "is_open",
                   "dedupe_key", "raised_on", "verify_due_on", "created_at"]


def _not_open(kind: WarningKind, key):
    open_w = aliased(WARNINGS)
    return ~exists(select(literal(1)).where(
        open_w.c.dedupe_key == literal(kind.code + ":", String) + key, open_w.c.is_open == true()))


async def _match_persons(session: AsyncSession, upload_id: str, kind: WarningKind,
                         raised_on: date, due_on: date, now) -> None:
    r = ROWS
    # UPDATE … FROM members: a join, touching only the rows that match.
    await session.execute(update(r).where(r.c.upload_id == upload_id, r.c.problem.is_(None),
                                          MEMBERS.c.id_number == r.c.id_number)
                          .values(member_id=MEMBERS.c.id, household_id=MEMBERS.c.household_id))
    await _analyze(session)
    key_col = r.c.member_id if kind.dedupe == "person" else r.c.household_id
    ranked = (
        select(r.c.row_no, r.c.household_id, r.c.member_id, r.c.reason,
               HOUSEHOLDS.c.township, HOUSEHOLDS.c.village, key_col.label("key"),
               func.row_number().over(partition_by=key_col, order_by=r.c.row_no).label("rn"))
        .select_from(r.join(HOUSEHOLDS, HOUSEHOLDS.c.id == r.c.household_id))
        .where(r.c.upload_id == upload_id, r.c.household_id.is_not(None))
        .subquery("ranked"))
    chosen = select(*_warning_values(upload_id, kind, ranked.c.key, raised_on, due_on, now,
                                     ranked, session.bind.dialect.name)).where(ranked.c.rn == 1,
                                                    _not_open(kind, ranked.c.key))
    await session.execute(insert(WARNINGS).from_select(WARNING_COLUMNS, chosen))
    # Each matched row points at the open warning that covers it (new or already open).
    row_key = r.c.member_id if kind.dedupe == "person" else r.c.household_id
    await session.execute(update(r).where(
        r.c.upload_id == upload_id, r.c.household_id.is_not(None),
        WARNINGS.c.dedupe_key == literal(kind.code + ":", String) + row_key,
        WARNINGS.c.is_open == true()).values(warning_id=WARNINGS.c.id))


def _in_village(kind: WarningKind):
    r, h = ROWS, HOUSEHOLDS
    return and_(h.c.village == r.c.village,
                or_(r.c.township.is_(None), h.c.township == r.c.township),
                h.c.category.in_(kind.categories))


async def _match_villages(session: AsyncSession, upload_id: str, kind: WarningKind,
                          raised_on: date, due_on: date, now) -> None:
    r, h = ROWS, HOUSEHOLDS
    await session.execute(update(r).where(r.c.upload_id == upload_id, r.c.problem.is_(None))
                          .values(matched_households=select(func.count()).select_from(h)
                                  .where(_in_village(kind)).scalar_subquery()))
    await _analyze(session)
    ranked = (
        select(r.c.row_no, h.c.id.label("household_id"), null().label("member_id"), r.c.reason,
               h.c.township, h.c.village, h.c.id.label("key"),
               func.row_number().over(partition_by=h.c.id, order_by=r.c.row_no).label("rn"))
        .select_from(r.join(h, _in_village(kind)))
        .where(r.c.upload_id == upload_id, r.c.problem.is_(None))
        .subquery("ranked"))
    chosen = select(*_warning_values(upload_id, kind, ranked.c.key, raised_on, due_on, now,
                                     ranked, session.bind.dialect.name)).where(ranked.c.rn == 1,
                                                    _not_open(kind, ranked.c.key))
    await session.execute(insert(WARNINGS).from_select(WARNING_COLUMNS, chosen))


async def _count(session: AsyncSession, upload: DepartmentUpload, kind: WarningKind) -> None:
    r, w = ROWS, WARNINGS
    valid = and_(r.c.upload_id == upload.id, r.c.problem.is_(None))
    unmatched_if = r.c.household_id.is_(None) if kind.match == "person" \
        else r.c.matched_households == 0
    upload.rows_unmatched = (await session.execute(
        select(func.count()).select_from(r).where(valid, unmatched_if))).scalar_one()
    upload.rows_matched = upload.rows_total - upload.rows_invalid - upload.rows_unmatched
    upload.warnings_raised = (await session.execute(
        select(func.count()).select_from(w).where(w.c.upload_id == upload.id))).scalar_one()
    if kind.match == "person":
        earlier = and_(r.c.warning_id.is_not(None),
                       ~exists(select(literal(1)).where(w.c.id == r.c.warning_id,
                                                        w.c.upload_id == upload.id)))
    else:
        earlier = and_(r.c.matched_households > 0,
                       ~exists(select(literal(1)).where(w.c.upload_id == upload.id,
                                                        w.c.row_no == r.c.row_no)))
    upload.rows_already_open = (await session.execute(
        select(func.count()).select_from(r).where(valid, earlier))).scalar_one()


# -- reports -----------------------------------------------------------------------------------

def _may_read_upload(principal: Principal, upload: DepartmentUpload) -> bool:
    return principal.role == "county" or (
        principal.role == "department" and upload.department in {principal.department,
                                                                  principal.unit})


async def get_upload(session: AsyncSession, upload_id: str,
                     principal: Principal) -> DepartmentUpload:
    upload = await session.get(DepartmentUpload, upload_id)
    if upload is None:
        raise NotFound(f"导入批次 {upload_id} 不存在")
    if not _may_read_upload(principal, upload):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail="只有县乡村振兴局和报送部门可查看导入报告")
    return upload


def _issue(row, principal: Principal) -> RowIssue:
    shown = row.id_number if principal.sees_identity_numbers else mask_id_number(row.id_number)
    return RowIssue(row=row.row_no, column=row.problem_column, message=row.problem or "",
                    id_number=shown, name=row.name)


async def issues(session: AsyncSession, upload: DepartmentUpload, kind_match: str,
                 which: str, principal: Principal, limit: int, offset: int) -> list[RowIssue]:
    r = ROWS
    query = select(r.c.row_no, r.c.id_number, r.c.name, r.c.village, r.c.problem,
                   r.c.problem_column).where(r.c.upload_id == upload.id)
    if which == "invalid":
        query = query.where(r.c.problem.is_not(None))
    else:
        query = query.where(r.c.problem.is_(None), r.c.household_id.is_(None)
                            if kind_match == "person" else r.c.matched_households == 0)
    rows = (await session.execute(query.order_by(r.c.row_no).limit(limit).offset(offset))).all()
    if which == "invalid" or kind_match == "person":
        await audit.full_read(session, principal, "department_row",
                              [f"{upload.id}:{row.row_no}" for row in rows if row.id_number],
                              "id_number")
    out = []
    for row in rows:
        if which == "invalid":
            out.append(_issue(row, principal))
        elif kind_match == "person":
            out.append(RowIssue(row=row.row_no, column="身份证号",
                                message=f"第{row.row_no}行：身份证号在本县农户家庭成员中没有找到",
                                id_number=row.id_number if principal.sees_identity_numbers
                                else mask_id_number(row.id_number), name=row.name))
        else:
            out.append(RowIssue(row=row.row_no, column="村",
                                message=f"第{row.row_no}行：村“{row.village}”没有脱贫户或监测户",
                                name=None))
    return out


async def report(session: AsyncSession, upload: DepartmentUpload, county: County,
                 principal: Principal) -> UploadReport:
    kind = kinds_of(county).get(upload.kind)
    match = kind.match if kind else "person"
    invalid = await issues(session, upload, match, "invalid", principal, ISSUES_SHOWN, 0)
    unmatched = await issues(session, upload, match, "unmatched", principal, ISSUES_SHOWN, 0)
    return UploadReport(
        **upload.model_dump(exclude={"sha256", "uploaded_by", "created_at"}),
        kind_name=kind_name(county, upload.kind), invalid=invalid, unmatched=unmatched,
        issues_truncated=upload.rows_invalid > ISSUES_SHOWN or upload.rows_unmatched > ISSUES_SHOWN)


# -- the lifecycle -----------------------------------------------------------------------------

async def get_warning(session: AsyncSession, warning_id: str, principal: Principal,
                      county: County) -> RiskWarning:
    w = await session.get(RiskWarning, warning_id)
    if w is None:
        raise NotFound(f"预警 {warning_id} 不存在")
    if principal.role == "department":
        kind = kinds_of(county).get(w.kind)
        if (kind is None or kind.department not in {principal.department, principal.unit}
                or principal.grant("warnings") is None):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="无权查看其他部门的预警")
    else:
        ensure_reach(principal, w.township, w.village)
    return w


def to_read(w: RiskWarning, county: County) -> WarningRead:
    return WarningRead(**w.model_dump(), kind_name=kind_name(county, w.kind))


async def list_warnings(session: AsyncSession, principal: Principal, county: County, *,
                        status_: str | None, kind: str | None, township: str | None,
                        village: str | None, upload_id: str | None, limit: int,
                        offset: int) -> list[RiskWarning]:
    query = select(RiskWarning).order_by(RiskWarning.raised_on, RiskWarning.id)
    # A department's grant for warnings; within it, only the kinds it uploads itself (M5).
    query = within_reach(query, principal, RiskWarning.township, RiskWarning.village,
                         resource="warnings", entity=RiskWarning)
    if principal.role == "department":
        own = [k.code for k in kinds_of(county).values()
               if k.department in {principal.department, principal.unit}]
        query = query.where(RiskWarning.kind.in_(own) if own else false())
    for column, value in ((RiskWarning.status, status_), (RiskWarning.kind, kind),
                          (RiskWarning.township, township), (RiskWarning.village, village),
                          (RiskWarning.upload_id, upload_id)):
        if value:
            query = query.where(column == value)
    return list((await session.execute(query.limit(limit).offset(offset))).scalars().all())


async def verify(session: AsyncSession, warning_id: str, data: WarningVerify,
                 principal: Principal, county: County, clock: Clock) -> RiskWarning:
    """The township's verification: dismiss with a reason, or include (identification starts)."""
    w = await get_warning(session, warning_id, principal, county)
    if w.status != "raised":
        raise Conflict(f"预警 {w.id} 已于 {w.verified_on} 核实（"
                       f"{'拟纳入' if w.status == 'included' else '不纳入'}），不能重复核实")
    today = clock.today()
    verified_on = data.verified_on or today
    if problem := rules.verification_problem(data.decision, data.reason, data.category,
                                             verified_on, w.raised_on, today):
        raise DomainError(problem[0], problem[1], "invalid_verification")
    now = clock.now()
    before = w.model_dump(mode="json")
    w.verified_on, w.verified_by, w.decision_reason = verified_on, principal.sub, data.reason
    if data.decision == "dismiss":
        w.status, w.is_open = "dismissed", False
    else:
        household = await session.get(Household, w.household_id)
        running = await identification.running_identification(session, household.id)
        if running is not None:
            ident = running  # one procedure per household: the warning joins it
        else:
            ident = await identification.start(
                session, household, source="部门预警" if w.source == "department" else w.source,
                category=data.category, risk_types=list(data.risk_types or [w.risk_type]),
                clue=w.reason, warning_id=w.id, principal=principal, county=county, clock=clock,
                started_on=verified_on)
        w.status, w.identification_id = "included", ident.id
    session.add(w)
    await session.flush()
    await meet_deadline(session, rules.VERIFICATION_DEADLINE, w.id, verified_on)
    late = verified_on > w.verify_due_on
    await audit.record(session, principal, entity_type="warning", entity_id=w.id,
                       action=f"verify:{data.decision}", before=before,
                       after=w.model_dump(mode="json"), now=now)
    await outbox.emit(session, events.verified(w, late, now))
    return w


async def raise_clue(session: AsyncSession, data: ClueCreate, principal: Principal,
                     county: County, clock: Clock) -> RiskWarning:
    """A warning from a visit or the household's own report: the same lifecycle as a file's."""
    household = await session.get(Household, data.household_id)
    if household is None:
        raise DomainError("household_id", f"农户 {data.household_id} 不存在", "unknown_household")
    ensure_reach(principal, household.township, household.village)
    if data.member_id is not None:
        member = await session.get(Member, data.member_id)
        if member is None or member.household_id != household.id:
            raise DomainError("member_id", f"成员 {data.member_id} 不是该户的家庭成员",
                              "unknown_member")
    key = f"{CLUE_KIND}.{data.risk_type}:{household.id}"
    existing = (await session.execute(select(RiskWarning.id).where(
        RiskWarning.dedupe_key == key, RiskWarning.is_open == true()))).scalar()
    if existing is not None:
        raise Conflict(f"该户已有未办结的同类风险线索 {existing}")
    today, now = clock.today(), clock.now()
    rule = verification_rule(county)
    w = RiskWarning(id=new_id(), kind=CLUE_KIND, source=data.source,
                    household_id=household.id, member_id=data.member_id,
                    township=household.township, village=household.village,
                    risk_type=data.risk_type, reason=f"{data.source}：{data.reason}",
                    dedupe_key=key, raised_on=today, verify_due_on=rule.due_on(today),
                    created_at=now)
    session.add(w)
    await session.flush()
    await open_deadline(session, rule, subject_type="warning", subject_id=w.id, started_on=today,
                        now=now, household_id=w.household_id, township=w.township,
                        village=w.village, context={"warning_id": w.id, "kind": w.kind,
                                                    "kind_name": CLUE_KIND_NAME})
    await audit.record(session, principal, entity_type="warning", entity_id=w.id, action="raise",
                       before=None, after=w.model_dump(mode="json"), now=now)
    await outbox.emit(session, events.raised(w, now))
    return w


# -- M7: low-income people outside monitoring --------------------------------------------------

async def outside_system(session: AsyncSession, principal: Principal, county: County,
                         township: str | None, limit: int, offset: int) -> list[OutsideSystemRow]:
    """People on the latest civil-affairs lists whose household has no open case."""
    kinds = [k for k in kinds_of(county).values() if k.outside_system]
    latest: list[str] = []
    for kind in kinds:
        upload_id = (await session.execute(
            select(DepartmentUpload.id).where(DepartmentUpload.kind == kind.code)
            .order_by(DepartmentUpload.period.desc(), DepartmentUpload.created_at.desc())
            .limit(1))).scalar()
        if upload_id:
            latest.append(upload_id)
    if not latest:
        return []
    r, h, u = ROWS, HOUSEHOLDS, DepartmentUpload.__table__
    i = Identification.__table__
    open_case = exists(select(literal(1)).where(Case.household_id == r.c.household_id,
                                                Case.status == "open"))
    row_township = func.coalesce(h.c.township, r.c.township)
    row_village = func.coalesce(h.c.village, r.c.village)
    query = (
        select(r.c.upload_id, r.c.row_no, r.c.name, r.c.id_number, r.c.household_id,
               u.c.kind, u.c.period, row_township.label("township"),
               row_village.label("village"), h.c.category, i.c.id.label("identification_id"))
        .select_from(r.join(u, u.c.id == r.c.upload_id)
                     .outerjoin(h, h.c.id == r.c.household_id)
                     .outerjoin(i, and_(i.c.household_id == r.c.household_id,
                                        i.c.status == "in_progress")))
        .where(r.c.upload_id.in_(latest), r.c.problem.is_(None), ~open_case))
    query = within_reach(query, principal, row_township, row_village)
    if township:
        query = query.where(row_township == township)
    rows = (await session.execute(query.order_by(func.coalesce(row_township, ""), r.c.upload_id,
                                                 r.c.row_no).limit(limit).offset(offset))).all()
    reveal = principal.sees_identity_numbers
    await audit.full_read(session, principal, "department_row",
                          [f"{row.upload_id}:{row.row_no}" for row in rows if row.id_number],
                          "id_number")
    return [OutsideSystemRow(
        kind=row.kind, kind_name=kind_name(county, row.kind), period=row.period,
        upload_id=row.upload_id, row=row.row_no, name=row.name,
        id_number=row.id_number if reveal else mask_id_number(row.id_number),
        township=row.township, village=row.village, household_id=row.household_id,
        household_category=row.category,
        status="未登记农户" if row.household_id is None
        else "识别中" if row.identification_id else "未纳入监测",
        identification_id=row.identification_id) for row in rows]
