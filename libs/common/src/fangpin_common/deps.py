"""FastAPI dependencies every router uses: the unit of work, the caller, clock, county."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import idempotency
from fangpin_common.auth import Principal, current_principal
from fangpin_common.clock import Clock
from fangpin_common.county import County


async def unit_of_work(request: Request) -> AsyncIterator[AsyncSession]:
    # scope="function": the commit happens before the response is sent, so a client never
    # sees success for a change that failed to commit.
    async with request.app.state.db.unit_of_work() as session:
        yield session
        # A POST's Idempotency-Key is committed with its effect.
        await idempotency.before_commit(request.state, session)


def clock(request: Request) -> Clock:
    return request.app.state.clock


def county(request: Request) -> County:
    return request.app.state.county


SessionDep = Annotated[AsyncSession, Depends(unit_of_work, scope="function")]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
ClockDep = Annotated[Clock, Depends(clock)]
CountyDep = Annotated[County, Depends(county)]
