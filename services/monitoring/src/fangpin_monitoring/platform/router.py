from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.errors import DomainError
from fangpin_monitoring.changes.rules import decode_cursor
from fangpin_monitoring.platform import service
from fangpin_monitoring.platform.models import BatchResult, ChangesPage, PlatformBatch

router = APIRouter(prefix="/api/v1/platform", tags=["platform"])
PlatformCaller = Annotated[Principal, Depends(require_roles("platform"))]
FeedReader = Annotated[Principal, Depends(require_roles("platform", "county"))]


@router.put("/households:batch", response_model=BatchResult)
async def upsert_households(body: PlatformBatch, session: SessionDep, principal: PlatformCaller,
                            county: CountyDep, clock: ClockDep) -> BatchResult:
    """Idempotent bulk upsert keyed by the platform's household id and version; per-item results."""
    return await service.upsert_batch(session, body, principal, county, clock)


@router.get("/changes", response_model=ChangesPage)
async def changes(session: SessionDep, principal: FeedReader, cursor: str | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ChangesPage:
    """Households created or changed here (locally or by import) after `cursor`, oldest first."""
    try:
        after = decode_cursor(cursor)
    except ValueError as exc:
        raise DomainError("cursor", str(exc), "invalid_cursor", location="query") from exc
    return await service.changes_page(session, after, limit, principal)
