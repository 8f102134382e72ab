from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path

from fangpin_common import export
from fangpin_common.auth import Principal, current_principal
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.types import Year
from fangpin_employment.deps import EMPLOYMENT_GRANT
from fangpin_employment.sharing import rules, service
from fangpin_employment.sharing.models import ShareRead

router = APIRouter(prefix="/api/v1/sharing", tags=["quarterly sharing"])

async def hr_or_county(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The county (revitalisation bureau) shares; the HR bureau's department token reads."""
    if principal.role == "county" or principal.grant(EMPLOYMENT_GRANT) is not None:
        return principal
    raise HTTPException(403, detail="仅县级及县人力资源和社会保障局可读取共享数据")


Reader = Annotated[Principal, Depends(hr_or_county)]


@router.get("/{year}/{quarter}", response_model=None,
            responses=export.file_responses(export.XLSX))
async def quarter_export(year: Year, quarter: Annotated[int, Path(ge=1, le=4)],
                         session: SessionDep, _: Reader, county: CountyDep, clock: ClockDep,
                         format: Literal["json", "xlsx"] = "json"):
    """The quarter's work information and key-group lists (E6), as JSON or XLSX."""
    service.check(year, quarter, clock)
    work, groups = await service.export(session, county, year, quarter)
    if format == "json":
        return {"year": year, "quarter": quarter,
                "work_information": [dict(zip(rules.WORK_COLUMNS, r, strict=True)) for r in work],
                "key_groups": [dict(zip(rules.GROUP_COLUMNS, r, strict=True)) for r in groups]}
    wb = export.workbook()
    export.add_table_sheet(wb, "务工信息", f"{year}年第{quarter}季度脱贫劳动力务工信息",
                           rules.WORK_COLUMNS, work)
    export.add_table_sheet(wb, "重点群体", f"{year}年第{quarter}季度需就业帮扶重点群体名单",
                           rules.GROUP_COLUMNS, groups)
    return export.file_response(export.to_bytes(wb), export.XLSX,
                                f"务工信息共享_{year}Q{quarter}.xlsx")


@router.post("/{year}/{quarter}", status_code=201, response_model=ShareRead)
async def share(year: Year, quarter: Annotated[int, Path(ge=1, le=4)], session: SessionDep,
                principal: Reader, county: CountyDep, clock: ClockDep) -> ShareRead:
    """Record that the quarter was shared and announce it (work_info.shared)."""
    if principal.role != "county":
        raise HTTPException(403, detail="由县乡村振兴局共享")
    return ShareRead(**(await service.share(session, county, year, quarter, principal,
                                            clock)).model_dump())
