"""Dependencies of the employment routers (besides fangpin_common.deps)."""

from __future__ import annotations

from typing import Annotated

from fangpin_common.auth import Principal, require_roles
from fastapi import Depends, Request

from fangpin_employment.policy import EmploymentPolicy


def policy(request: Request) -> EmploymentPolicy:
    return request.app.state.employment_policy


PolicyDep = Annotated[EmploymentPolicy, Depends(policy)]
# Who enters data: the county bureaus, township governments and villages (for their helpers).
Editor = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
# Who manages county-wide things (targets, posts' quotas, jobs, supervision).
CountyStaff = Annotated[Principal, Depends(require_roles("county"))]
TownshipOrCounty = Annotated[Principal, Depends(require_roles("county", "township"))]
