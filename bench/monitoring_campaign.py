"""包抓包核包过 campaign generation at county scale, on PostgreSQL.

Households (default 300,000; 2/3 脱贫户 or 监测户, spread over the 12 townships and 9 villages
each) are loaded with COPY. Then the campaign is created through the service (one INSERT …
SELECT of the checklists, the township deadlines, the audit entry, in one transaction), a whole
village is assigned in bulk, and the progress report is computed. Baseline in the same run: a
plain COPY of the same checklist rows from Python into a bare table — what a row-by-row
generation would at best cost. Prints seconds and the ratio; asserts nothing.

    .venv/bin/python bench/monitoring_campaign.py [households]
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, date, datetime

import asyncpg
from _support import POSTGRES_URL, ROOT, pg_connect

from fangpin_common import migrations
from fangpin_common.auth import Principal
from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.db import Database
from fangpin_monitoring.campaigns import service
from fangpin_monitoring.campaigns.models import AssignmentCreate, CampaignCreate, Person
from fangpin_monitoring.settings import MonitoringSettings

CATEGORIES = ("脱贫户", "监测户", "一般农户")
COLUMNS = ["id", "township", "village", "category", "head_name", "revision",
           "relocation_site", "whole_household_dibao", "dangerous_house_renovation",
           "disaster_hit", "created_at", "updated_at"]


async def connect(schema: str) -> asyncpg.Connection:
    conn = await pg_connect(POSTGRES_URL)
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    await conn.execute(f'SET search_path TO "{schema}"')
    return conn


async def main(households: int) -> None:
    schema = f"bench_campaign_{uuid.uuid4().hex[:8]}"
    settings = MonitoringSettings(_env_file=None, database_url=POSTGRES_URL,
                                  database_schema=schema,
                                  county_config=ROOT / "config" / "county.yaml",
                                  log_level="WARNING")
    county = load_county(settings.county_config)
    codes = [t.code for t in county.townships]
    clock = SettableClock()
    clock.set_today(date(2024, 4, 10))
    principal = Principal(sub="bench", role="county", unit=county.county.lead_unit)
    township = Principal(sub="bench-t", role="township", township=codes[3])
    conn = await connect(schema)
    try:
        await migrations.upgrade("monitoring", settings)
        now = datetime.now(UTC)
        rows = [(f"h{i}", codes[i % 12], f"村{(i // 12) % 9}", CATEGORIES[i % 3], f"户主{i}", 1,
                 False, False, False, False, now, now) for i in range(households)]
        await conn.copy_records_to_table("households", records=rows, columns=COLUMNS)
        db = Database(settings)
        began = time.perf_counter()
        async with db.unit_of_work() as session:
            campaign = await service.create_campaign(session, CampaignCreate(
                name="bench", start_on=date(2024, 4, 10), due_on=date(2024, 6, 30)),
                principal, county, clock)
        created = time.perf_counter() - began
        began = time.perf_counter()
        async with db.unit_of_work() as session:
            assigned = await service.assign(session, campaign, AssignmentCreate(
                villages=["村1"], responsible=Person(name="甲", unit="乡"),
                verifier=Person(name="乙", unit="县")), township, clock)
        assign_took = time.perf_counter() - began
        began = time.perf_counter()
        async with db.session() as session:
            report = await service.progress(session, campaign, principal, county, "village")
        progress_took = time.perf_counter() - began
        await db.dispose()
        await conn.execute("CREATE TABLE bare_checklists (campaign_id text, household_id text, "
                           "township text, village text, created_at timestamptz)")
        began = time.perf_counter()
        bare = [(campaign.id, r[0], r[1], r[2], now) for r in rows if r[3] != "一般农户"]
        async with conn.transaction():
            await conn.copy_records_to_table("bare_checklists", records=bare)
        copy_took = time.perf_counter() - began
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
    print(f"households {households}, checklists {campaign.households}, "
          f"village assignment {assigned}, progress rows {len(report.rows)}")
    print(f"create campaign (INSERT … SELECT, deadlines, audit): {created:6.2f} s")
    print(f"plain COPY of the same checklist rows from Python:  {copy_took:6.2f} s")
    print(f"ratio create / COPY: {created / copy_took:5.2f}x")
    print(f"bulk assignment of a village: {assign_took:6.2f} s; "
          f"progress by village: {progress_took:6.2f} s")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000))
