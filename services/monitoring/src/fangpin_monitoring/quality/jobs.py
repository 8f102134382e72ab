"""The scheduled data-cleaning runs (ServiceSpec.background): county `quality.run_days`."""

from __future__ import annotations

import logging

from fangpin_common.periodic import every
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
    await every(getattr(ctx.settings, "quality_check_interval_seconds", 3600.0),
                lambda: run_due(ctx), "scheduled data-quality run",
                first_delay=getattr(ctx.settings, "quality_first_check_seconds", 300.0))
