"""The audit trail as the county reads it, the same route in every service: changes (before
and after), full reads of resident IDs and phones, with filters, as JSON or XLSX."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from fangpin_common import export
from fangpin_common.auth import Principal, require_roles
from fangpin_common.clock import BUSINESS_TZ as SHANGHAI
from fangpin_common.tables import AUDIT_LOG
from fangpin_common.types import Day, Offset

COLUMNS = ("序号", "时间", "操作人", "角色", "对象类型", "对象编号", "操作", "修改前", "修改后",
           "请求编号")
ACTION_NAMES = {"read_full": "查看完整身份证号/电话", "create": "新增", "update": "修改",
                "open": "纳入监测"}


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    entity_type: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


class AuditFilter(BaseModel):
    actor: str | None = None
    role: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    action: str | None = None
    since: Day | None = None  # business dates (Asia/Shanghai), inclusive
    until: Day | None = None


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def query_for(f: AuditFilter) -> Any:
    """The audit rows a filter selects, oldest first (a pure function of the filter)."""
    a = AUDIT_LOG.c
    query = select(AUDIT_LOG).order_by(a.id)
    for column, value in ((a.actor, f.actor), (a.role, f.role), (a.entity_type, f.entity_type),
                          (a.entity_id, f.entity_id), (a.action, f.action)):
        if value:
            query = query.where(column == value)
    if f.since:
        query = query.where(a.at >= day_start(f.since))
    if f.until:
        query = query.where(a.at < day_start(f.until + timedelta(days=1)))
    return query


def rows_for_sheet(entries: list[AuditEntry]) -> list[list[Any]]:
    import json

    def text(value: dict | None) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    return [[i, e.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.role,
             e.entity_type, e.entity_id, ACTION_NAMES.get(e.action, e.action), text(e.before),
             text(e.after), e.request_id or ""] for i, e in enumerate(entries, start=1)]


CountyOnly = Annotated[Principal, Depends(require_roles("county"))]


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1/audit", tags=["audit"])

    @api.get("", response_model=list[AuditEntry])
    async def audit_trail(request: Request, _: CountyOnly,
                          filters: Annotated[AuditFilter, Query()],
                          limit: Annotated[int, Query(ge=1, le=10000)] = 500,
                          offset: Offset = 0,
                          format: Literal["json", "xlsx"] = "json"):
        """Who changed what and when, and who was shown whose full ID or phone (action
        read_full): filter by person (actor), entity, action and period; XLSX for the file."""
        async with request.app.state.db.session() as session:
            rows = (await session.execute(query_for(filters).limit(limit).offset(offset))).all()
        entries = [AuditEntry.model_validate(dict(r._mapping)) for r in rows]
        if format == "json":
            return entries
        wb = export.workbook()
        export.add_table_sheet(wb, "审计日志", "操作审计日志", COLUMNS, rows_for_sheet(entries),
                               widths=[6, 20, 24, 10, 14, 38, 22, 40, 40, 34])
        service = request.app.state.settings.service_name
        return export.file_response(export.to_bytes(wb), export.XLSX, f"审计日志_{service}.xlsx")

    return api
