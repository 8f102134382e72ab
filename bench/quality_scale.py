"""Data-quality runs (M10) at county scale: a full run of every rule at 10k / 100k / 1M persons.

A synthetic county is seeded (≈3.3 persons a household, cases with helpers, plans and
measures, income of two years, visits, and a small share of planted problems); then a full
run (every rule, set-based, with the reconciliation) is timed, and a second run (every item
found again). The baseline, measured in the same run on the same database, is what a
per-household check would cost at the least: one query per table a rule reads (household,
members, cases, plans, measures, income, visits), timed on a sample of households and given
per household, without evaluating anything.

    .venv/bin/python bench/quality_scale.py [--persons 10000 100000 1000000]
                                            [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import time
import warnings
from datetime import UTC, date, datetime, timedelta

from _support import ROOT, monitoring_database
from _support import resident_id as valid_id
from sqlalchemy import func, select, text

from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.db import Database, bulk_insert
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.income.models import IncomeRecord
from fangpin_monitoring.plans.models import AssistancePlan, Measure
from fangpin_monitoring.quality import service
from fangpin_monitoring.quality.models import Anomaly
from fangpin_monitoring.visits.models import Visit

COUNTY = load_county(ROOT / "config" / "county.yaml")
TODAY = date(2024, 4, 10)
CHUNK = 20_000  # households per insert batch
BASE = date(1940, 1, 1)


def resident_id(k: int) -> tuple[str, date, str]:
    """The k-th distinct valid ID, its birth date and sex."""
    born = BASE + timedelta(days=k % 29_000)
    seq = k // 29_000
    return valid_id("450224", born, seq), born, "男" if seq % 2 else "女"


async def seed(db: Database, persons: int) -> int:
    rng = random.Random(7)
    now = datetime.now(UTC)
    townships = [t.code for t in COUNTY.townships]
    k = 0
    households = 0
    while k < persons:
        rows: dict[str, list[dict]] = {t: [] for t in ("h", "m", "c", "hp", "p", "x", "i", "v")}
        for _ in range(CHUNK):
            if k >= persons:
                break
            hid = f"h{households}"
            households += 1
            size = min(rng.choice((2, 3, 3, 4, 4, 5)), persons - k)
            monitored = rng.random() < 0.06
            category = "监测户" if monitored else rng.choice(("脱贫户", "脱贫户", "一般农户"))
            rows["h"].append({
                "id": hid, "township": townships[households % 12],
                "village": f"村{households % 150}", "category": category,
                "monitoring_subcategory": "边缘易致贫户" if monitored else None,
                "head_name": f"户主{households}", "revision": 1, "relocation_site": False,
                "whole_household_dibao": False, "dangerous_house_renovation": False,
                "disaster_hit": False, "phone": "13800138000" if rng.random() > 0.01 else "123",
                "created_at": now, "updated_at": now})
            for j in range(size):
                number, born, sex = resident_id(k)
                if rng.random() < 0.002:
                    number = number[:17] + ("0" if number[17] != "0" else "1")
                age = TODAY.year - born.year
                labour = "普通劳动力" if 16 <= age <= 60 else "无劳动力"
                if rng.random() < 0.003:
                    labour = "普通劳动力"
                rows["m"].append({
                    "id": f"m{k}", "household_id": hid, "name": f"成员{k}",
                    "id_number": number, "sex": sex, "birth_date": born,
                    "relation": "户主" if j == 0 else "其他", "labour_capacity": labour,
                    "in_school": False, "health": "健康", "deceased": False, "phone": None})
                k += 1
            if monitored:
                cid = f"c{hid}"
                included = TODAY - timedelta(days=rng.randrange(3, 400))
                rows["c"].append({"id": cid, "household_id": hid,
                                  "township": rows["h"][-1]["township"],
                                  "village": rows["h"][-1]["village"],
                                  "category": "边缘易致贫户", "risk_types": ["因病"],
                                  "inclusion_date": included, "status": "open",
                                  "created_at": now})
                if rng.random() < 0.97:
                    rows["hp"].append({"id": f"hp{hid}", "case_id": cid, "name": "帮扶人",
                                       "assigned_on": included, "created_at": now})
                if rng.random() < 0.95:
                    rows["p"].append({"id": f"p{hid}", "case_id": cid, "filed_on": included,
                                      "filed_by": "bench", "helper_id": None, "summary": "计划",
                                      "late": False, "created_at": now})
                    developmental = rng.random() < 0.9
                    rows["x"].append({
                        "id": f"x{hid}", "case_id": cid, "plan_id": f"p{hid}", "position": 0,
                        "measure_type": "产业帮扶" if developmental else "低保",
                        "measure_kind": "developmental" if developmental else "safety_net",
                        "responsible_unit": "county.agriculture", "status": "in_progress",
                        "start_on": included, "end_on": None, "description": None,
                        "amount_fen": None, "created_at": now, "updated_at": now})
            if rng.random() < 0.3:
                base = rng.randrange(2_000, 40_000) * 100
                for period, amount in (("2022-06", base), ("2023-06",
                                                           int(base * rng.uniform(0.7, 1.7)))):
                    rows["i"].append({"id": f"i{hid}{period}", "household_id": hid,
                                      "period": period, "source": "工资性收入",
                                      "amount_fen": amount, "recorded_by": "bench",
                                      "recorded_on": TODAY, "created_at": now})
            if category != "一般农户" and rng.random() < 0.95:
                rows["v"].append({"id": f"v{hid}", "household_id": hid,
                                  "township": rows["h"][-1]["township"],
                                  "village": rows["h"][-1]["village"], "grid_area_id": None,
                                  "visited_on": date(2024, 2, 1), "visitor_name": "网格员",
                                  "visitor_role": None, "family_changes": None,
                                  "living_conditions": None, "industry": None,
                                  "employment": None, "leaflet_explained": True,
                                  "risk_found": False, "risk_types": [], "notes": None,
                                  "recorded_by": "bench", "created_at": now})
        async with db.unit_of_work() as session:
            for key, table in (("h", Household), ("m", Member), ("c", Case), ("hp", Helper),
                               ("p", AssistancePlan), ("x", Measure), ("i", IncomeRecord),
                               ("v", Visit)):
                await bulk_insert(session, table.__table__, rows[key])
    return households


async def per_household_baseline(db: Database, households: int, sample: int) -> float:
    """Seconds per household to read what the rules read, one household at a time."""
    ids = [f"h{i}" for i in random.Random(3).sample(range(households), min(sample, households))]
    start = time.perf_counter()
    async with db.session() as session:
        for hid in ids:
            await session.execute(select(Household).where(Household.id == hid))
            await session.execute(select(Member).where(Member.household_id == hid))
            cases = (await session.execute(select(Case.id).where(
                Case.household_id == hid))).scalars().all()
            await session.execute(select(Helper).where(Helper.case_id.in_(cases)))
            await session.execute(select(AssistancePlan).where(
                AssistancePlan.case_id.in_(cases)))
            await session.execute(select(Measure).where(Measure.case_id.in_(cases)))
            await session.execute(select(IncomeRecord).where(IncomeRecord.household_id == hid))
            await session.execute(select(Visit).where(Visit.household_id == hid))
    return (time.perf_counter() - start) / len(ids)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench(backend: str, persons: int, sample: int) -> None:
    clock = SettableClock()
    clock.set_today(TODAY)
    async with monitoring_database(backend) as db:
        t0 = time.perf_counter()
        households = await seed(db, persons)
        seeded = time.perf_counter() - t0
        if backend == "postgresql":
            async with db.engine.connect() as conn:
                await conn.execute(text("COMMIT"))
                await conn.execute(text("ANALYZE"))
        memory_before = peak_mb()
        t0 = time.perf_counter()
        async with db.unit_of_work() as session:
            first = await service.run_checks(session, COUNTY, clock)
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        async with db.unit_of_work() as session:
            second = await service.run_checks(session, COUNTY, clock)
        again = time.perf_counter() - t0
        memory_after = peak_mb()
        async with db.session() as session:
            kept = (await session.execute(select(func.count()).select_from(Anomaly))).scalar_one()
        per_household = await per_household_baseline(db, households, sample)

    baseline = per_household * households
    print(f"\n== {backend}: {persons:,} persons in {households:,} households; seeding took "
          f"{seeded:.1f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  full run, {len(first.rules)} rules         {full:8.2f} s  ({first.found:,} items found"
          f", {first.new:,} new; {persons / full:,.0f} persons/s)")
    print(f"  second run (all found again)  {again:8.2f} s  ({second.still_open:,} still open, "
          f"{second.new} new, {second.fixed} fixed; {kept:,} items kept)")
    print(f"  peak RSS {memory_before:,.0f} MB before the runs, {memory_after:,.0f} MB after")
    print(f"  baseline: reads per household   {per_household * 1e3:8.3f} ms/household "
          f"(on {min(sample, households):,}; {baseline:.1f} s for the county, nothing evaluated)")
    print(f"  ratio, per-household reads vs full set-based run: {baseline / full:.1f}x")


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for persons in args.persons:
        for backend in backends:
            asyncio.run(bench(backend, persons, args.sample))


if __name__ == "__main__":
    main()
