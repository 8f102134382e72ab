"""Household import throughput on PostgreSQL, next to a plain COPY and executemany of the rows.

A deterministic synthetic CSV of 100,000 members (about 29,000 households, seed 2024) is
imported through the service's import (every row checked, households, members, events, audit
and change-log rows written in one transaction). The same rows, read from the same file, are
then loaded into a bare table with asyncpg's COPY and with executemany: the floor any import
pays. Prints rows/s, the ratios and the process's peak memory; asserts nothing.

    .venv/bin/python bench/monitoring_import.py [members]
"""

from __future__ import annotations

import asyncio
import csv
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from _support import POSTGRES_URL, ROOT, pg_connect, resident_id

from fangpin_common import migrations
from fangpin_common.auth import Principal
from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.db import Database
from fangpin_monitoring.imports.rules import COLUMNS
from fangpin_monitoring.imports.service import import_households
from fangpin_monitoring.settings import MonitoringSettings

HEADERS = [c.header for c in COLUMNS]
SURNAMES = "韦覃莫廖黄蓝梁罗潘唐吴陆龙杨"
GIVEN = "明华强军芳丽秀英桂兰金玉春生福海"
RELATIONS = ["配偶", "之子", "之女", "父亲", "母亲", "孙子"]
TOWNSHIPS = ["长安镇", "浮石镇", "泗顶镇", "板榄镇", "大将镇", "大良镇", "雅瑶乡", "大坡乡",
             "东起乡", "沙子乡", "桥板乡", "潭头乡"]


def write_csv(path: Path, members: int) -> int:
    """The synthetic file; returns the number of households."""
    rng = random.Random(2024)
    start = date(1940, 1, 1)
    serial = 0
    households = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        written = 0
        while written < members:
            households += 1
            size = min(rng.choice((1, 2, 3, 3, 4, 4, 5, 6)), members - written)
            township = rng.choice(TOWNSHIPS)
            category = rng.choice(("脱贫户", "脱贫户", "监测户", "一般农户"))
            sub = rng.choice(("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")) \
                if category == "监测户" else ""
            for i in range(size):
                serial += 1
                born = start + timedelta(days=serial % 25_000)
                male = rng.random() < 0.5
                seq = (serial // 25_000) % 100 * 10 + (1 if male else 2) + 2 * rng.randrange(4)
                values = {
                    "户编号": f"K{households}", "乡镇": township,
                    "村（社区）": f"{township}第{households % 9}村",
                    "户类别": category, "监测对象类别": sub, "家庭住址": f"第{households % 30}组",
                    "户联系电话": f"138{households:08d}",
                    "易地搬迁安置户": "是" if households % 11 == 0 else "否",
                    "整户低保户": "否", "危改户": "否",
                    "受灾户": "是" if households % 17 == 0 else "否",
                    "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "身份证号": resident_id("450224", born, seq), "性别": "男" if male else "女",
                    "出生日期": born.isoformat(),
                    "与户主关系": "户主" if i == 0 else rng.choice(RELATIONS),
                    "劳动能力": rng.choice(("普通劳动力", "弱劳力", "无劳动力")),
                    "在校生": "否", "健康状况": rng.choice(("健康", "健康", "长期慢性病", "残疾")),
                    "本人联系电话": "", "是否已故": "否",
                }
                writer.writerow([values[h] for h in HEADERS])
                written += 1
    return households


async def connect(schema: str) -> asyncpg.Connection:
    conn = await pg_connect(POSTGRES_URL)
    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    await conn.execute(f'SET search_path TO "{schema}"')
    return conn


def read_rows(path: Path) -> list[tuple]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [(r[0], r[11], r[12], r[13], date.fromisoformat(r[14]), r[15], r[16])
                for r in reader]


BARE = """CREATE TABLE bare_members (household_key text, name text, id_number varchar(18) UNIQUE,
          sex text, birth_date date, relation text, labour_capacity text)"""
BARE_COLUMNS = ["household_key", "name", "id_number", "sex", "birth_date", "relation",
                "labour_capacity"]


async def baseline_copy(conn: asyncpg.Connection, path: Path) -> float:
    await conn.execute("DROP TABLE IF EXISTS bare_members")
    await conn.execute(BARE)
    began = time.perf_counter()
    rows = read_rows(path)
    async with conn.transaction():
        await conn.copy_records_to_table("bare_members", records=rows, columns=BARE_COLUMNS)
    return time.perf_counter() - began


async def baseline_executemany(conn: asyncpg.Connection, path: Path) -> float:
    await conn.execute("DROP TABLE IF EXISTS bare_members")
    await conn.execute(BARE)
    began = time.perf_counter()
    rows = read_rows(path)
    async with conn.transaction():
        await conn.executemany(
            "INSERT INTO bare_members VALUES ($1, $2, $3, $4, $5, $6, $7)", rows)
    return time.perf_counter() - began


async def main(members: int) -> None:
    schema = f"bench_import_{uuid.uuid4().hex[:8]}"
    settings = MonitoringSettings(_env_file=None, database_url=POSTGRES_URL,
                                  database_schema=schema,
                                  county_config=ROOT / "config" / "county.yaml",
                                  log_level="WARNING")
    county = load_county(settings.county_config)
    clock = SettableClock()
    clock.set_today(date(2024, 4, 10))
    principal = Principal(sub="bench", role="county", unit=county.county.lead_unit)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "households.csv"
        households = write_csv(path, members)
        size_mb = path.stat().st_size / 1e6
        print(f"synthetic file: {members} members, {households} households, {size_mb:.1f} MB")
        conn = await connect(schema)
        try:
            await migrations.upgrade("monitoring", settings)
            db = Database(settings)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            began = time.perf_counter()
            with path.open("rb") as f:
                async with db.unit_of_work() as session:
                    report = await import_households(session, principal, county, clock, f,
                                                     "households.csv")
            took = time.perf_counter() - began
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            await db.dispose()
            assert report.error_count == 0 and report.members == members, report.error_count
            counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in
                      ("households", "members", "outbox", "audit_log", "household_changes")}
            copy_took = await baseline_copy(conn, path)
            many_took = await baseline_executemany(conn, path)
        finally:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()
    print(f"rows written by the import: {counts}")
    print(f"import (checked, events, audit, change log): {took:7.2f} s  "
          f"{members / took:9.0f} rows/s")
    print(f"plain COPY of the member rows:               {copy_took:7.2f} s  "
          f"{members / copy_took:9.0f} rows/s")
    print(f"plain executemany of the member rows:        {many_took:7.2f} s  "
          f"{members / many_took:9.0f} rows/s")
    print(f"ratio import / COPY:        {took / copy_took:5.1f}x slower")
    print(f"ratio import / executemany: {took / many_took:5.1f}x slower")
    print(f"peak RSS of this process: {rss_after:.0f} MB (before the import: {rss_before:.0f} MB)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
