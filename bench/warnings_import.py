"""Departmental data comparison at scale: a 100,000-row file matched against members.

The import (parse, stage the rows, set-based matching, warnings with their deadlines and
events, in one transaction) is timed on a file of `--rows` rows against `--households`
households of four members. The baseline, measured in the same run on the same database, is
what set-based matching replaces: a query per row (find the member, look for an open warning,
insert one), timed on a sample and given per row.

    .venv/bin/python bench/warnings_import.py [--rows 100000] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import time
import uuid
import warnings
from datetime import UTC, date, datetime, timedelta

from _support import ROOT, monitoring_database, resident_id
from sqlalchemy import insert, select, true

from fangpin_common.auth import Principal
from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.db import Database
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.warnings import service
from fangpin_monitoring.warnings.files import parse_file
from fangpin_monitoring.warnings.kinds import kinds_of
from fangpin_monitoring.warnings.models import RiskWarning

COUNTY = load_county(ROOT / "config" / "county.yaml")
TODAY = date(2024, 4, 10)


def resident_ids(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        seen.add(resident_id("450224", born, rng.randrange(1000)))
    return sorted(seen)


async def seed(db: Database, households: int) -> list[str]:
    ids = resident_ids(households * 4, seed=1)
    now = datetime.now(UTC)
    townships = [t.code for t in COUNTY.townships]
    async with db.unit_of_work() as session:
        rows, members = [], []
        for i in range(households):
            hid = str(uuid.uuid4())
            rows.append({"id": hid, "township": townships[i % 12], "village": f"村{i % 150}",
                         "category": "脱贫户", "head_name": f"户主{i}", "revision": 1,
                         "relocation_site": False, "whole_household_dibao": False,
                         "dangerous_house_renovation": False, "disaster_hit": False,
                         "created_at": now, "updated_at": now})
            for j in range(4):
                members.append({"id": str(uuid.uuid4()), "household_id": hid,
                                "name": f"成员{i}-{j}", "id_number": ids[i * 4 + j], "sex": "男",
                                "birth_date": date(1980, 1, 1), "relation": "户主" if j == 0
                                else "其他", "labour_capacity": "普通劳动力", "in_school": False,
                                "health": "健康", "deceased": False})
        await session.execute(insert(Household.__table__), rows)
        await session.execute(insert(Member.__table__), members)
    return ids


def department_file(known: list[str], rows: int, matched_share: float) -> bytes:
    rng = random.Random(2)
    unknown = resident_ids(rows, seed=3)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "病种"])
    for i in range(rows):
        if i % 100 == 99:
            writer.writerow(["45022419800101001", f"错号{i}", ""])  # 17 digits: invalid
        elif rng.random() < matched_share:
            writer.writerow([rng.choice(known), f"人{i}", "慢性肾病"])
        else:
            writer.writerow([unknown[i], f"外{i}", "慢性肾病"])
    return out.getvalue().encode("utf-8-sig")


async def per_row_baseline(db: Database, content: bytes, sample: int) -> float:
    """Seconds per row when every row is matched with its own queries (the old way)."""
    kind = kinds_of(COUNTY)["disability.new"]
    parsed = parse_file(kind, content, "csv", COUNTY, TODAY)
    rows = [r for r in parsed.rows if not r.problem][:sample]
    now = datetime.now(UTC)
    start = time.perf_counter()
    async with db.unit_of_work() as session:
        for row in rows:
            member = (await session.execute(select(Member.id, Member.household_id).where(
                Member.id_number == row.values["id_number"]))).first()
            if member is None:
                continue
            key = f"{kind.code}:{member.id}"
            if (await session.execute(select(RiskWarning.id).where(
                    RiskWarning.dedupe_key == key, RiskWarning.is_open == true()))).first():
                continue
            h = (await session.execute(select(Household.township, Household.village).where(
                Household.id == member.household_id))).first()
            await session.execute(insert(RiskWarning.__table__).values(
                id=str(uuid.uuid4()), kind=kind.code, source="department", household_id=member[1],
                member_id=member.id, township=h.township, village=h.village, risk_type="因残",
                reason="x", status="raised", is_open=True, dedupe_key=key, raised_on=TODAY,
                verify_due_on=TODAY, created_at=now))
        await session.rollback()
    return (time.perf_counter() - start) / len(rows)


async def run(backend: str, rows: int, households: int, matched_share: float,
              sample: int) -> None:
    async with monitoring_database(backend) as db:
        t0 = time.perf_counter()
        known = await seed(db, households)
        seeded = time.perf_counter() - t0
        content = department_file(known, rows, matched_share)
        kind = kinds_of(COUNTY)["health.serious_illness"]
        t0 = time.perf_counter()
        parse_file(kind, content, "csv", COUNTY, TODAY)
        parse_seconds = time.perf_counter() - t0

        clock = SettableClock()
        clock.set_today(TODAY)
        county_user = Principal(sub="bench", role="county", unit="county.rural_revitalisation")
        t0 = time.perf_counter()
        async with db.unit_of_work() as session:
            upload = await service.import_file(
                session, kind_code=kind.code, period="2024-03", filename="health.csv",
                declared_format=None, content=content, principal=county_user, county=COUNTY,
                clock=clock)
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        async with db.unit_of_work() as session:
            again = await service.import_file(
                session, kind_code=kind.code, period="2024-04", filename="health.csv",
                declared_format=None, content=content + b"\n", principal=county_user,
                county=COUNTY, clock=clock)
        second = time.perf_counter() - t0
        per_row = await per_row_baseline(db, content, sample)

    print(f"\n== {backend}: {rows:,} rows against {households * 4:,} members "
          f"({households:,} households); seeding took {seeded:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  parse and check the file           {parse_seconds:7.2f} s")
    print(f"  whole import, first month          {total:7.2f} s  = {rows / total:9,.0f} rows/s"
          f"  ({upload.rows_matched:,} matched, {upload.warnings_raised:,} warnings with "
          f"deadlines and events, {upload.rows_unmatched:,} unmatched, "
          f"{upload.rows_invalid:,} invalid)")
    print(f"  same file next month (all open)    {second:7.2f} s  = {rows / second:9,.0f} rows/s"
          f"  ({again.warnings_raised} raised, {again.rows_already_open:,} already open)")
    print(f"  baseline: a query per row          {per_row * 1e3:7.3f} ms/row "
          f"= {1 / per_row:9,.0f} rows/s (on {sample:,} rows; {per_row * rows:.1f} s for the file)")
    print(f"  ratio, set-based vs per-row (matching and insert only): "
          f"{(per_row * rows) / max(total - parse_seconds, 1e-9):.1f}x faster")


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # sqlmodel's execute()
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--households", type=int, default=25_000)
    parser.add_argument("--matched", type=float, default=0.3, help="share of rows that match")
    parser.add_argument("--sample", type=int, default=5_000, help="rows for the per-row baseline")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        asyncio.run(run(backend, args.rows, args.households, args.matched, args.sample))


if __name__ == "__main__":
    main()
