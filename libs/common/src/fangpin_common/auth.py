"""Bearer JWT with a role and a scope: county, township, village, department, platform.

A township token reaches its township only, a village token its village; department and
platform tokens reach what their data sharing covers (checked by the routes that serve them).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import and_

log = logging.getLogger(__name__)

Role = Literal["county", "township", "village", "department", "platform"]
ROLES: tuple[str, ...] = ("county", "township", "village", "department", "platform")


class Principal(BaseModel):
    sub: str
    role: Role
    unit: str | None = None
    township: str | None = None
    village: str | None = None
    department: str | None = None

    def can_reach(self, township: str | None, village: str | None = None) -> bool:
        if self.role in ("county", "platform"):
            return True
        if self.role == "township":
            return township is not None and township == self.township
        if self.role == "village":
            return village is not None and village == self.village and (
                self.township is None or township == self.township)
        return False

    @property
    def sees_identity_numbers(self) -> bool:
        """Resident ID numbers and phones appear unmasked only for these roles."""
        return self.role in ("county", "township", "platform")


_bearer = HTTPBearer(auto_error=False)


def _unauthorised(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason,
                         headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from a token verified with the console's public keys (fangpin_common.tokens).
    Why a token is refused goes to the log, never to the caller."""
    from fangpin_common.tokens import InvalidToken

    if credentials is None:
        raise _unauthorised("未登录：缺少访问令牌")
    try:
        return await request.app.state.verifier.principal(credentials.credentials)
    except InvalidToken as exc:
        log.info("token refused", extra={"fields": {"reason": exc.reason}})
        raise _unauthorised("访问令牌无效或已过期，请重新登录") from None


def require_roles(*roles: str):
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail="当前账号无权执行此操作")
        return principal

    return check


def ensure_reach(principal: Principal, township: str | None, village: str | None = None) -> None:
    if not principal.can_reach(township, village):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="无权访问本辖区以外的数据")


def reach_clause(principal: Principal, township: Any, village: Any) -> Any | None:
    """What `can_reach` lets a township or a village token see, as a SQL condition on the given
    township and village columns; None for the roles that see every area (county, platform)
    or whose limit is not an area (department: the caller decides)."""
    if principal.role == "township":
        return township == principal.township
    if principal.role == "village":
        clause = village == principal.village
        return and_(township == principal.township, clause) if principal.township else clause
    return None


def within_reach(query: Any, principal: Principal, township: Any, village: Any) -> Any:
    """`query` limited to the token's area (reach_clause)."""
    clause = reach_clause(principal, township, village)
    return query if clause is None else query.where(clause)


def mask_id_number(value: str | None) -> str | None:
    if not value or len(value) < 10:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    if not value or len(value) < 7:
        return value
    return value[:3] + "****" + value[-4:]
