"""The daily job that opens visit deadlines (ServiceSpec.background)."""

from __future__ import annotations

import asyncio
import logging

from fangpin_common.service import ServiceContext
from fangpin_monitoring.visits import service

log = logging.getLogger(__name__)


async def open_visit_deadlines_daily(ctx: ServiceContext) -> None:
    if not getattr(ctx.settings, "visit_deadlines_job", True):
        return
    interval = getattr(ctx.settings, "visit_deadlines_interval_seconds", 86400.0)
    while True:
        try:
            async with ctx.db.unit_of_work() as session:
                result = await service.open_deadlines(session, ctx.county, ctx.clock)
            if result.monthly_opened or result.q1_opened:
                log.info("visit deadlines opened: %s", result.model_dump())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("opening visit deadlines failed; retried at the next run")
        await asyncio.sleep(interval)
