"""Operator routes of the employment service."""

from __future__ import annotations

from fastapi import APIRouter, Request

from fangpin_employment import schedule
from fangpin_employment.deps import CountyStaff

router = APIRouter(prefix="/api/v1/admin", tags=["operations"])


@router.post("/scan")
async def scan(request: Request, _: CountyStaff) -> dict:
    """Open this period's deadlines, promote returnees, then scan every deadline now."""
    state = request.app.state
    done = await schedule.run_once(state.ctx)
    done["deadline_events"] = await state.scanner.scan()
    done["business_date"] = state.clock.today()
    return done
