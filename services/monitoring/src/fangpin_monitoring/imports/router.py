from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, UploadFile
from fastapi.responses import Response

from fangpin_common import export
from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_monitoring.imports import reader, service
from fangpin_monitoring.imports.models import ImportReport

router = APIRouter(prefix="/api/v1/households/import", tags=["households"])
Uploader = Annotated[Principal, Depends(require_roles("county", "township", "village"))]


@router.post("", response_model=ImportReport)
async def import_households(
    file: UploadFile, session: SessionDep, principal: Uploader, county: CountyDep,
    clock: ClockDep,
    valid_only: Annotated[bool, Query(
        description="只导入没有错误的农户（有错误行的户整户跳过）")] = False,
) -> ImportReport:
    """Households from a CSV or XLSX file in the template's layout (one row per member).

    A file with any error imports nothing and answers 422 listing each error by row and column,
    unless `valid_only=true`."""
    return await service.import_households(session, principal, county, clock, file.file,
                                           file.filename, valid_only)


@router.get("/template", response_class=Response,
            responses=export.file_responses(export.XLSX, export.CSV))
async def template(county: CountyDep, _: PrincipalDep,
                   format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    """The blank import template, with a sheet that explains every column (XLSX)."""
    if format == "csv":
        return Response(reader.template_csv(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": _attachment("csv")})
    return Response(reader.template_xlsx(county), media_type=export.XLSX,
                    headers={"Content-Disposition": _attachment("xlsx")})


def _attachment(ext: str) -> str:
    # RFC 5987: a Chinese file name for browsers, an ASCII one for the rest.
    return (f"attachment; filename=household-import-template.{ext}; "
            f"filename*=UTF-8''%E5%86%9C%E6%88%B7%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.{ext}")
