"""Calendar work: open the period deadlines and promote returnees, then let the scanner run.

Each step is idempotent (unique deadlines, atomic claims), so any number of replicas may run it.
"""

from __future__ import annotations

import logging

from fangpin_common.periodic import every
from fangpin_common.service import ServiceContext
from fangpin_employment.forms import service as forms
from fangpin_employment.policy import load_policy
from fangpin_employment.returnees import service as returnees
from fangpin_employment.workinfo import service as workinfo

log = logging.getLogger(__name__)


async def run_once(ctx: ServiceContext) -> dict[str, int]:
    policy = load_policy(ctx.county)
    today, now = ctx.clock.today(), ctx.clock.now()
    async with ctx.db.unit_of_work() as session:
        work = await workinfo.open_quarter_deadlines(session, ctx.county, today, now)
    async with ctx.db.unit_of_work() as session:
        month = await forms.open_month_deadlines(session, ctx.county, today, now)
    promoted = await returnees.scan_returns(ctx.db, ctx.county, policy, ctx.clock)
    return {"work_info_deadlines_opened": work, "form_deadlines_opened": month,
            "returnees": promoted}


async def loop(ctx: ServiceContext) -> None:
    if not ctx.settings.run_scanners:
        return
    await every(ctx.settings.scanner_interval_seconds, lambda: run_once(ctx),
                "employment calendar run")
