"""The daily job that opens visit deadlines (ServiceSpec.background)."""

from __future__ import annotations

import logging

from fangpin_common.periodic import every
from fangpin_common.service import ServiceContext
from fangpin_monitoring.visits import service

log = logging.getLogger(__name__)


async def open_visit_deadlines_daily(ctx: ServiceContext) -> None:
    if not getattr(ctx.settings, "visit_deadlines_job", True):
        return
    async def open_now() -> None:
        async with ctx.db.unit_of_work() as session:
            result = await service.open_deadlines(session, ctx.county, ctx.clock)
        if result.monthly_opened or result.q1_opened:
            log.info("visit deadlines opened: %s", result.model_dump())

    await every(getattr(ctx.settings, "visit_deadlines_interval_seconds", 86400.0), open_now,
                "opening visit deadlines")
