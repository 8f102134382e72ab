"""Who sees and changes industry data (scope rule 5 of the service's brief).

Township tokens reach their township, village tokens their village; county and platform
tokens, and department tokens of the industry bureaus (county file: industry.departments),
reach everything. Other departments reach only what names their unit (targets they answer for).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from fangpin_common.auth import Principal, current_principal
from fangpin_industry.config import IndustryConfig


def industry_config(request: Request) -> IndustryConfig:
    return request.app.state.industry


IndustryDep = Annotated[IndustryConfig, Depends(industry_config)]


def is_industry_department(principal: Principal, config: IndustryConfig) -> bool:
    """An industry bureau (industry.departments) whose grant in the county file names the
    industry data: both, so that the grant decides what a department reads."""
    return principal.role == "department" and principal.grant("industry") is not None and bool(
        {principal.department, principal.unit} & set(config.departments))


def sees_all(principal: Principal, config: IndustryConfig) -> bool:
    return principal.role in ("county", "platform") or is_industry_department(principal, config)


def can_reach(principal: Principal, config: IndustryConfig, township: str | None,
              village: str | None = None) -> bool:
    return sees_all(principal, config) or principal.can_reach(township, village)


def ensure_reach(principal: Principal, config: IndustryConfig, township: str | None,
                 village: str | None = None) -> None:
    if not can_reach(principal, config, township, village):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="无权访问本辖区以外的数据")


def forbidden(message: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=message)


async def _area_user(principal: Annotated[Principal, Depends(current_principal)],
                     config: IndustryDep) -> Principal:
    """County, platform, industry bureaus, townships and villages: data of their area."""
    if sees_all(principal, config) or principal.role in ("township", "village"):
        return principal
    who = f"{principal.role}（{principal.unit or '未指定单位'}）"
    raise forbidden(f"角色 {who} 无权访问产业帮扶数据")


async def _manager(principal: Annotated[Principal, Depends(current_principal)],
                   config: IndustryDep) -> Principal:
    """County and the industry bureaus: flags, scans, county-wide decisions."""
    if principal.role == "county" or is_industry_department(principal, config):
        return principal
    raise forbidden(f"角色 {principal.role} 无权执行此操作（限县级和农业农村、林业部门）")


AreaUser = Annotated[Principal, Depends(_area_user)]
Manager = Annotated[Principal, Depends(_manager)]
