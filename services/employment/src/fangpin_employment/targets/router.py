from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from fangpin_common import export
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Year
from fangpin_employment.deps import SCOPED, PolicyDep
from fangpin_employment.targets import rules, service
from fangpin_employment.targets.models import TargetTable

router = APIRouter(prefix="/api/v1/targets", tags=["targets"], dependencies=SCOPED)


@router.get("", response_model=TargetTable)
async def targets(_: PrincipalDep, county: CountyDep, policy: PolicyDep) -> TargetTable:
    """The plan's township table (annex 1), exactly as the county file gives it."""
    return service.table(county, policy)


@router.get("/progress", response_model=None,
            responses=export.file_responses(export.XLSX))
async def progress(session: SessionDep, _: PrincipalDep, county: CountyDep, policy: PolicyDep,
                   clock: ClockDep, year: Year | None = None,
                   format: Literal["json", "xlsx"] = "json"):
    result = await service.progress(session, county, policy, year or clock.today().year)
    if format == "json":
        return result
    wb = export.workbook()
    export.add_table_sheet(wb, str(result.year),
                           f"{county.county.name}{result.year}年转移就业目标任务完成进度表",
                           rules.PROGRESS_COLUMNS, service.as_table(result))
    return export.file_response(export.to_bytes(wb), export.XLSX,
                                f"转移就业目标进度_{result.year}.xlsx")
