"""Who may do which act (plan, assessment, procedure steps …), from the county file's
`authority` (defaults in fangpin_common.grants): checked here, the same way for every route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from fangpin_common.auth import Principal, current_principal
from fangpin_common.grants import ACT_NAMES

ROLE_NAMES = {"village": "村", "township": "乡镇", "county": "县", "department": "部门",
              "platform": "自治区平台"}


def refusal(roles: tuple[str, ...], role: str, act: str) -> str | None:
    """Why `role` may not do `act` (done by `roles`), or None."""
    if role in roles:
        return None
    who = "、".join(ROLE_NAMES.get(r, r) for r in roles) or "任何角色都不能直接"
    what = ACT_NAMES.get(act, act)
    return f"“{what}”由{who}级办理，{ROLE_NAMES.get(role, role)}级不能办理"


def ensure_may(county, principal: Principal, act: str) -> None:
    if message := refusal(county.roles_for(act), principal.role, act):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=message)


def authorised(act: str):
    """A dependency: the caller, when the county file gives `act` to its role; else 403."""
    async def check(request: Request,
                    principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        ensure_may(request.app.state.county, principal, act)
        return principal

    check.__name__ = f"may_{act.replace('.', '_')}"
    return check
