"""Bearer JWT with a role and a scope: county, township, village, department, platform.

A township token reaches its township only, a village token its village, a county or platform
token everything; a department token reaches only what its grant in the county file names
(fangpin_common.grants), through the same functions: `can_reach` / `ensure_reach` for one row,
`reach_clause` / `within_reach` for lists, exports and feeds. A department the county file
does not list is refused everywhere.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, PrivateAttr
from sqlalchemy import and_, false

from fangpin_common.grants import DEFAULT_FULL_IDENTITY_ROLES, Grant

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
    # Set from the county file when the request is authenticated (`bind`), never from the token.
    _grants: dict[str, Grant] = PrivateAttr(default_factory=dict)
    _full_identity_roles: tuple[str, ...] = PrivateAttr(default=DEFAULT_FULL_IDENTITY_ROLES)

    @property
    def department_code(self) -> str | None:
        return self.department or self.unit if self.role == "department" else None

    def grant(self, resource: str) -> Grant | None:
        """A department's grant for a resource; None when it has none (or is no department)."""
        return self._grants.get(resource) if self.role == "department" else None

    def can_reach(self, township: str | None, village: str | None = None, *,
                  resource: str | None = None, row: Any = None) -> bool:
        if self.role in ("county", "platform"):
            return True
        if self.role == "township":
            return township is not None and township == self.township
        if self.role == "village":
            return village is not None and village == self.village and (
                self.township is None or township == self.township)
        if self.role == "department" and resource is not None:
            grant = self.grant(resource)
            return grant is not None and (row is None or grant.matches(row, self.department_code))
        return False

    @property
    def sees_identity_numbers(self) -> bool:
        """Resident ID numbers and phones appear unmasked only for these roles."""
        return self.role in self._full_identity_roles


def bind(principal: Principal, county: Any) -> Principal:
    """Attach what the county file says of this principal: a department's grant (403 for a
    department the file does not list) and whether it sees identity numbers in full."""
    principal._full_identity_roles = tuple(county.full_identity_roles)
    if principal.role == "department":
        grants = county.department_grants.get(principal.department_code or "")
        if grants is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"部门 {principal.department_code or '（未指定）'} "
                                       "没有数据共享授权")
        principal._grants = dict(grants)
    return principal


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
        principal = await request.app.state.verifier.principal(credentials.credentials)
    except InvalidToken as exc:
        log.info("token refused", extra={"fields": {"reason": exc.reason}})
        raise _unauthorised("访问令牌无效或已过期，请重新登录") from None
    return bind(principal, request.app.state.county)


def require_roles(*roles: str):
    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail="当前账号无权执行此操作")
        return principal

    return check


def ensure_reach(principal: Principal, township: str | None, village: str | None = None, *,
                 resource: str | None = None, row: Any = None) -> None:
    if not principal.can_reach(township, village, resource=resource, row=row):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="无权访问本辖区以外的数据")


def _column(entity: Any, name: str) -> Any:
    columns = getattr(entity, "c", None)  # a Table / subquery, else an ORM class
    return columns[name] if columns is not None else getattr(entity, name)


def reach_clause(principal: Principal, township: Any, village: Any, *,
                 resource: str | None = None, entity: Any = None) -> Any | None:
    """What `can_reach` lets the token see, as a SQL condition on the given township and
    village columns; None for the roles that see every area (county, platform). A department
    gets its grant's condition on `entity`'s columns for `resource`, or a condition that holds
    for no row: its limit is decided here, never by the caller."""
    if principal.role == "township":
        return township == principal.township
    if principal.role == "village":
        clause = village == principal.village
        return and_(township == principal.township, clause) if principal.township else clause
    if principal.role in ("county", "platform"):
        return None
    grant = principal.grant(resource) if resource else None
    if grant is None:
        return false()
    if entity is None:
        if grant.where:
            raise ValueError(f"grant for {resource!r} has conditions but no entity was given")
        return None
    conditions = [_column(entity, column).in_(values)
                  for column, values in grant.conditions(principal.department_code).items()]
    return and_(*conditions) if conditions else None


def within_reach(query: Any, principal: Principal, township: Any, village: Any, *,
                 resource: str | None = None, entity: Any = None) -> Any:
    """`query` limited to what the token reaches (reach_clause)."""
    clause = reach_clause(principal, township, village, resource=resource, entity=entity)
    return query if clause is None else query.where(clause)


def project(principal: Principal, resource: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record as the token may see it: a department only the fields its grant names."""
    grant = principal.grant(resource)
    return grant.project(record) if grant is not None else record


def projected(principal: Principal, resource: str, data: Any) -> Any:
    """A route's result as the token may see it: unchanged, or (a department whose grant names
    fields) a JSON response of the projected record(s), bypassing the full response model."""
    grant = principal.grant(resource)
    if grant is None or grant.fields is None:
        return data
    from fastapi.encoders import jsonable_encoder
    from fastapi.responses import JSONResponse

    encoded = jsonable_encoder(data)
    if isinstance(encoded, list):
        return JSONResponse([grant.project(r) for r in encoded])
    return JSONResponse(grant.project(encoded))


def shown_id_number(principal: Principal, value: str | None) -> str | None:
    return value if principal.sees_identity_numbers else mask_id_number(value)


def shown_phone(principal: Principal, value: str | None) -> str | None:
    return value if principal.sees_identity_numbers else mask_phone(value)


def mask_id_number(value: str | None) -> str | None:
    if not value or len(value) < 10:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    if not value or len(value) < 7:
        return value
    return value[:3] + "****" + value[-4:]
