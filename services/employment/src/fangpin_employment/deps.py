"""Dependencies of the employment routers (besides fangpin_common.deps)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from fangpin_common.auth import Principal, current_principal, require_roles
from fangpin_employment.policy import EmploymentPolicy

# The department grant (county file: department_grants) that reaches the employment data.
EMPLOYMENT_GRANT = "employment"


def policy(request: Request) -> EmploymentPolicy:
    return request.app.state.employment_policy


PolicyDep = Annotated[EmploymentPolicy, Depends(policy)]
# Who enters data: the county bureaus, township governments and villages (for their helpers).
Editor = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
# Who manages county-wide things (targets, posts' quotas, jobs, supervision).
CountyStaff = Annotated[Principal, Depends(require_roles("county"))]
TownshipOrCounty = Annotated[Principal, Depends(require_roles("county", "township"))]


async def no_other_department(principal: Annotated[Principal, Depends(current_principal)]) -> None:
    """Department tokens reach employment data only through their grant (the HR bureau's)."""
    if principal.role == "department" and principal.grant(EMPLOYMENT_GRANT) is None:
        raise HTTPException(403, detail="本部门无权访问就业帮扶数据")


SCOPED = [Depends(no_other_department)]
