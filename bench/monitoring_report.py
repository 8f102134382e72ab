"""The monitoring report (M13) at county scale: 300,000 households by default.

Seeds households in 12 townships and 150 villages, a month's visit deadlines for each (most
met, some late, some missed), warnings for 3 % of them (verified at varied speeds or still
pending) with their verification deadlines, and cases for 5 % at every stage. Then the whole
report is timed (JSON; the XLSX is built from the same figures). The baseline, measured in the
same run on the same database, is what the GROUP BY queries replace: a loop over households
with a query per household and section, timed on a sample and given per household.

    .venv/bin/python bench/monitoring_report.py [--households 300000] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
import warnings
from datetime import UTC, date, datetime, timedelta

from _support import ROOT, monitoring_database
from sqlalchemy import func, insert, select, text

from fangpin_common.auth import Principal
from fangpin_common.county import load_county
from fangpin_common.db import Database
from fangpin_common.tables import DEADLINES
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.households.models import Household
from fangpin_monitoring.plans.models import AssistancePlan
from fangpin_monitoring.reports import rules
from fangpin_monitoring.reports.service import monitoring_report
from fangpin_monitoring.warnings.models import RiskWarning

COUNTY = load_county(ROOT / "config" / "county.yaml")
TODAY = date(2024, 4, 10)
MARCH, MARCH_END = date(2024, 3, 1), date(2024, 3, 31)
CHUNK = 20_000


async def _insert(session, table, rows: list[dict]) -> None:
    for i in range(0, len(rows), CHUNK):
        await session.execute(insert(table), rows[i:i + CHUNK])


def _deadline(kind: str, subject: str, household, started: date, due: date,
              met_on: date | None, now) -> dict:
    return {"id": str(uuid.uuid4()), "kind": kind, "subject_type": "household",
            "subject_id": subject, "household_id": household["id"],
            "township": household["township"], "village": household["village"],
            "started_on": started, "due_on": due, "due_soon_on": due,
            "state": "met" if met_on else "open", "met_on": met_on, "context": {},
            "created_at": now}


async def seed(db: Database, households: int) -> None:
    rng = random.Random(1)
    now = datetime.now(UTC)
    townships = [t.code for t in COUNTY.townships]
    homes = [{"id": str(uuid.uuid4()), "township": townships[i % 12], "village": f"村{i % 150}",
              "category": "脱贫户", "head_name": f"户主{i}", "revision": 1,
              "relocation_site": False, "whole_household_dibao": False,
              "dangerous_house_renovation": False, "disaster_hit": False,
              "created_at": now, "updated_at": now} for i in range(households)]
    deadlines, raised_warnings, cases, helpers, plans = [], [], [], [], []
    for h in homes:
        roll = rng.random()
        met = None if roll < 0.1 else MARCH + timedelta(days=rng.randrange(31 + 5 * (roll > 0.9)))
        deadlines.append(_deadline("visit.monthly", f"{h['id']}:2024-03", h, MARCH, MARCH_END,
                                   met, now))
        if rng.random() < 0.03:
            raised = MARCH + timedelta(days=rng.randrange(31))
            status = rng.choice(("raised", "included", "dismissed", "dismissed"))
            verified = None if status == "raised" else raised + timedelta(days=rng.randrange(15))
            w = {"id": str(uuid.uuid4()), "kind": "clue", "source": "入户走访",
                 "household_id": h["id"], "township": h["township"], "village": h["village"],
                 "risk_type": "因病", "reason": "x", "status": status,
                 "is_open": status != "dismissed", "dedupe_key": f"clue:{h['id']}",
                 "raised_on": raised, "verify_due_on": raised + timedelta(days=7),
                 "verified_on": verified, "created_at": now}
            raised_warnings.append(w)
            deadlines.append(_deadline("warning.verification", w["id"], h, raised,
                                       w["verify_due_on"], verified, now))
        if rng.random() < 0.05:
            inclusion = date(2023, 9, 1) + timedelta(days=rng.randrange(200))
            c = {"id": str(uuid.uuid4()), "household_id": h["id"], "township": h["township"],
                 "village": h["village"], "category": "边缘易致贫户", "risk_types": ["因病"],
                 "inclusion_date": inclusion, "status": "open", "created_at": now}
            cases.append(c)
            stage = rng.random()
            if stage > 0.2:
                helpers.append({"id": str(uuid.uuid4()), "case_id": c["id"], "name": "帮扶人",
                                "assigned_on": inclusion, "created_at": now})
            if stage > 0.4:
                plans.append({"id": str(uuid.uuid4()), "case_id": c["id"],
                              "filed_on": inclusion, "filed_by": "bench", "summary": "x",
                              "late": False, "created_at": now})
            due = inclusion + timedelta(days=182)
            deadlines.append(_deadline("case.assessment", c["id"], h, inclusion, due, None, now))
    async with db.unit_of_work() as session:
        await _insert(session, Household.__table__, homes)
        await _insert(session, RiskWarning.__table__, raised_warnings)
        await _insert(session, Case.__table__, cases)
        await _insert(session, Helper.__table__, helpers)
        await _insert(session, AssistancePlan.__table__, plans)
        await _insert(session, DEADLINES, deadlines)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))


async def per_household_baseline(db: Database, sample: int) -> float:
    """Seconds per household when each is looked at with its own queries (the loop the
    GROUP BY replaces): its visit deadline, its warnings, its open case and that case's stage."""
    d, w = DEADLINES.c, RiskWarning.__table__.c
    async with db.session() as session:
        ids = (await session.execute(select(Household.id).limit(sample))).scalars().all()
        start = time.perf_counter()
        for hid in ids:
            await session.execute(select(d.state, d.met_on, d.due_on).where(
                d.kind == "visit.monthly", d.subject_id == f"{hid}:2024-03"))
            await session.execute(select(w.status, w.raised_on, w.verified_on).where(
                w.household_id == hid, w.raised_on >= MARCH, w.raised_on <= MARCH_END))
            case = (await session.execute(select(Case.id).where(
                Case.household_id == hid, Case.status == "open"))).scalar()
            if case is not None:
                await session.execute(select(func.count()).select_from(Helper).where(
                    Helper.case_id == case))
                await session.execute(select(func.count()).select_from(AssistancePlan).where(
                    AssistancePlan.case_id == case))
        return (time.perf_counter() - start) / max(1, len(ids))


async def run(backend: str, households: int, sample: int, rounds: int) -> None:
    county_user = Principal(sub="bench", role="county", unit="county.rural_revitalisation")
    async with monitoring_database(backend) as db:
        t0 = time.perf_counter()
        await seed(db, households)
        seeded = time.perf_counter() - t0
        period = rules.parse_period("2024-03", None, None)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with db.session() as session:
                report = await monitoring_report(session, county_user, COUNTY, period, TODAY)
            times.append(time.perf_counter() - t0)
        report_seconds = sorted(times)[len(times) // 2]
        per_household = await per_household_baseline(db, sample)
    loop = per_household * households
    total = report.total
    print(f"\n== {backend}: {households:,} households, {len(report.rows):,} report rows "
          f"(seeded in {seeded:.1f} s)")
    print(f"  visits due / done                  {total.visits_due:,} / {total.visits_done:,}")
    print(f"  warnings raised / open cases       {total.warnings_raised:,} / "
          f"{total.cases_open:,}")
    print(f"  whole report (median of {rounds})       {report_seconds:7.2f} s")
    print(f"  baseline: queries per household    {per_household * 1e3:7.3f} ms/household "
          f"= {loop:7.2f} s for all")
    print(f"  ratio, per-household loop vs report: {loop / report_seconds:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=300_000)
    parser.add_argument("--sample", type=int, default=3_000,
                        help="households for the per-household baseline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    # SQLModel's session prefers exec(); plain execute() is what the services use too.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        asyncio.run(run(backend, args.households, args.sample, args.rounds))


if __name__ == "__main__":
    main()
