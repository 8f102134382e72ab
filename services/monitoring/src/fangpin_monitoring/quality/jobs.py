"""The scheduled data-cleaning runs (ServiceSpec.background): county `quality.run_days`."""

from __future__ import annotations

import asyncio
import logging

from fangpin_common.service import ServiceContext
from fangpin_monitoring.quality import service

log = logging.getLogger(__name__)


async def run_due(ctx: ServiceContext) -> bool:
    """One check: run the latest scheduled slot if no instance has claimed it yet."""
    async with ctx.db.unit_of_work() as session:
        run = await service.run_scheduled(session, ctx.county, ctx.clock)
    if run is not None:
        log.info("scheduled data-quality run %s for %s: %s found, %s new, %s fixed",
                 run.id, run.slot, run.found, run.new, run.fixed)
    return run is not None


async def scheduled_quality_runs(ctx: ServiceContext) -> None:
    if not getattr(ctx.settings, "quality_job", True):
        return
    interval = getattr(ctx.settings, "quality_check_interval_seconds", 3600.0)
    await asyncio.sleep(getattr(ctx.settings, "quality_first_check_seconds", 300.0))
    while True:
        try:
            await run_due(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled data-quality run failed; retried at the next check")
        await asyncio.sleep(interval)
