from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.errors import DomainError
from fangpin_common.types import Offset
from fangpin_monitoring.warnings import service
from fangpin_monitoring.warnings.kinds import kinds_of
from fangpin_monitoring.warnings.models import (
    ClueCreate,
    KindColumnRead,
    KindRead,
    OutsideSystemRow,
    RowIssue,
    UploadReport,
    WarningRead,
    WarningVerify,
)

router = APIRouter(prefix="/api/v1/warnings", tags=["warnings"])
Uploader = Annotated[Principal, Depends(require_roles("county", "department"))]
Verifier = Annotated[Principal, Depends(require_roles("county", "township"))]
Finder = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
Reader = Annotated[Principal, Depends(require_roles("county", "township", "village",
                                                    "department"))]
MAX_BYTES = 64 * 1024 * 1024


@router.get("/kinds", response_model=list[KindRead])
async def list_kinds(county: CountyDep, _: PrincipalDep) -> list[KindRead]:
    """The kinds of departmental data compared, their columns and reason texts."""
    return [KindRead(**k.model_dump(exclude={"columns", "categories"}),
                     columns=[KindColumnRead(**c.model_dump()) for c in k.all_columns()])
            for k in kinds_of(county).values()]


@router.post("/uploads", status_code=201, response_model=UploadReport)
async def upload(session: SessionDep, principal: Uploader, county: CountyDep, clock: ClockDep,
                 kind: Annotated[str, Form(description="比对数据类别，如 education.dropout")],
                 period: Annotated[str, Form(description="数据期间 YYYY-MM")],
                 file: Annotated[UploadFile, File(description="CSV、XLSX 或 JSON 文件")],
                 file_format: Annotated[str | None, Form(alias="format")] = None) -> UploadReport:
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise DomainError("file", f"文件超过 {MAX_BYTES // 1024 // 1024}MB", "too_large")
    result = await service.import_file(
        session, kind_code=kind, period=period, filename=file.filename or "",
        declared_format=file_format, content=content, principal=principal, county=county,
        clock=clock)
    return await service.report(session, result, county, principal)


@router.get("/uploads/{upload_id}", response_model=UploadReport)
async def get_upload(upload_id: str, session: SessionDep, principal: PrincipalDep,
                     county: CountyDep) -> UploadReport:
    result = await service.get_upload(session, upload_id, principal)
    return await service.report(session, result, county, principal)


@router.get("/uploads/{upload_id}/rows", response_model=list[RowIssue])
async def upload_rows(upload_id: str, session: SessionDep, principal: PrincipalDep,
                      county: CountyDep, which: Literal["invalid", "unmatched"] = "unmatched",
                      limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                      offset: Offset = 0) -> list[RowIssue]:
    result = await service.get_upload(session, upload_id, principal)
    kind = kinds_of(county).get(result.kind)
    return await service.issues(session, result, kind.match if kind else "person", which,
                                principal, limit, offset)


@router.get("/outside-system", response_model=list[OutsideSystemRow])
async def outside_system(session: SessionDep, principal: Finder, county: CountyDep,
                         township: str | None = None,
                         limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                         offset: Offset = 0) -> list[OutsideSystemRow]:
    """体外循环: low-income people (civil affairs) whose household is not monitored (M7)."""
    return await service.outside_system(session, principal, county, township, limit, offset)


@router.post("", status_code=201, response_model=WarningRead)
async def raise_clue(body: ClueCreate, session: SessionDep, principal: Finder, county: CountyDep,
                     clock: ClockDep) -> WarningRead:
    return service.to_read(await service.raise_clue(session, body, principal, county, clock),
                           county)


@router.get("", response_model=list[WarningRead])
async def list_warnings(session: SessionDep, principal: Reader, county: CountyDep,
                        status: Literal["raised", "included", "dismissed"] | None = None,
                        kind: str | None = None, township: str | None = None,
                        village: str | None = None, upload_id: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                        offset: Offset = 0) -> list[WarningRead]:
    found = await service.list_warnings(session, principal, county, status_=status, kind=kind,
                                        township=township, village=village, upload_id=upload_id,
                                        limit=limit, offset=offset)
    return [service.to_read(w, county) for w in found]


@router.get("/{warning_id}", response_model=WarningRead)
async def get_warning(warning_id: str, session: SessionDep, principal: Reader,
                      county: CountyDep) -> WarningRead:
    return service.to_read(await service.get_warning(session, warning_id, principal, county),
                           county)


@router.post("/{warning_id}/verification", response_model=WarningRead)
async def verify(warning_id: str, body: WarningVerify, session: SessionDep, principal: Verifier,
                 county: CountyDep, clock: ClockDep) -> WarningRead:
    """The township verifies: include (the identification procedure starts) or dismiss."""
    return service.to_read(await service.verify(session, warning_id, body, principal, county,
                                                clock), county)
