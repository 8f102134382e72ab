"""Monitoring at county scale, on PostgreSQL: how its heavy paths grow with the population.

For each size (persons; default 10k, 100k and 1M), in a child process of its own (so each
size's memory peaks are its own) and a PostgreSQL database of its own, created and dropped:
a deterministic synthetic county (seed fixed) in the 12 townships of config/county.yaml and
their villages, ≈3.4 persons a household, 脱贫户 / 监测户 / 一般农户 mixed, is built, then
  (a) the households are imported through the service's import (every row checked, events,
      audit and change log, one unit of work);
  then open cases with helpers and plans, income records, visits and planted anomalies are
  added (set-based SQL: setting the scene, not timed as a step);
  (b) a 100,000-row serious-illness file of the health department (part of the county's
      persons, others from elsewhere, 1 % invalid) is matched into warnings through the
      warnings service; the same rows are then COPYed into a temporary table and joined on
      the ID number in plain SQL: the floor any matching pays (ratio service / plain);
  (c) a full data-quality run (fangpin_monitoring.quality), skipped with a line when that
      package is not there;
  (d) the deadline ledger is filled for the county (visit deadlines of three months and Q1,
      case deadlines, the warnings' verification deadlines; some past due), and one full
      DeadlineScanner pass emits the due-soon and overdue events through the outbox (three
      rounds on the same ledger, each undone before the next; the median is kept).
Each step prints items/s, elapsed time and the process's peak RSS during the step; then a
growth table gives each step's time per item at each size over its time per item at the
smallest size (1.00 = linear; ≤ ~1.5 counts as no faster than linear, allowing noise).
Figures only, nothing asserted; the last line says PASS or FAIL on that criterion.

    .venv/bin/python bench/monitoring_scale.py [--sizes 10k,100k,1M] [--dept-rows 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

from _support import (
    COUNTY_FILE,
    POSTGRES_URL,
    PeakMemory,
    line,
    own_database,
    pg_connect,
    resident_id,
)
from sqlalchemy import func, select, text

from fangpin_common import migrations
from fangpin_common.auth import Principal
from fangpin_common.clock import SettableClock
from fangpin_common.county import County, load_county
from fangpin_common.db import Database
from fangpin_common.deadlines import DeadlineScanner
from fangpin_common.metrics import Metrics
from fangpin_monitoring.imports.rules import COLUMNS
from fangpin_monitoring.imports.service import import_households
from fangpin_monitoring.main import SPEC
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_monitoring.warnings import service as warnings_service

SEED = 20240420
IMPORT_DAY = date(2024, 4, 20)  # households, department file and quality run
SCAN_DAY = date(2024, 4, 27)  # the scan: April's visits due soon, March's and Q1's overdue
# The department's rows on the county's persons fall on this many distinct persons at every
# size (duplicates as a department's lists have them): the warnings raised, their deadlines
# and events are then the same work at every size, and what grows is only the county.
POOL = 8_000
HEADERS = [c.header for c in COLUMNS]
SURNAMES = "韦覃莫廖黄蓝梁罗潘唐吴陆龙杨石谢卢"
GIVEN = "明华强军芳丽秀英桂兰金玉春生福海平红德燕"
RELATIONS = ["配偶", "之子", "之女", "父亲", "母亲", "孙子", "孙女", "儿媳"]
VILLAGE_STEMS = "东南西北上下新大小中和平安福民乐富兴隆古高长"
# ≈3.4 persons a household (mean of the choices).
HOUSEHOLD_SIZES = (1, 2, 2, 3, 3, 4, 4, 4, 5, 6)
# The mix of a county's registered households.
CATEGORIES = (("脱贫户", 40), ("监测户", 8), ("一般农户", 52))
SUBCATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
STEPS = (("a_import", "(a) household import", "persons"),
         ("b_match", "(b) department file matched", "rows"),
         ("c_quality", "(c) data-quality run", "persons"),
         ("d_scan", "(d) deadline scan", "events"))


def parse_size(value: str) -> int:
    value = value.strip().lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if value.endswith(suffix):
            return int(float(value[:-1]) * factor)
    return int(value)


# -- the synthetic county -------------------------------------------------------------------

def villages_of(county: County, rng: random.Random) -> dict[str, list[str]]:
    """Each township's villages (the county file lists none: they arrive with households)."""
    out = {}
    for t in county.townships:
        count = rng.randint(8, 20)
        out[t.name] = [f"{t.name[:-1]}{VILLAGE_STEMS[i]}村" for i in range(count)]
    return out


def township_weights(county: County) -> tuple[list[str], list[int]]:
    """Households per township in proportion to the plan's transfer targets (its populations)."""
    totals = {t.township: t.total for t in county.transfer_targets}
    names = [t.name for t in county.townships]
    return names, [totals.get(n, 1) for n in names]


def write_county(path: Path, county: County, persons: int) -> int:
    """The import file of a county of `persons` persons; returns its households."""
    rng = random.Random(SEED)
    villages = villages_of(county, rng)
    names, weights = township_weights(county)
    categories = [c for c, _ in CATEGORIES]
    category_weights = [w for _, w in CATEGORIES]
    serial = households = written = 0
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        while written < persons:
            households += 1
            size = min(rng.choice(HOUSEHOLD_SIZES), persons - written)
            township = rng.choices(names, weights)[0]
            village = rng.choice(villages[township])
            category = rng.choices(categories, category_weights)[0]
            sub = rng.choice(SUBCATEGORIES) if category == "监测户" else ""
            for i in range(size):
                serial += 1
                # A permutation of (birth day, sequence) pairs: unique IDs, ages spread.
                k = serial * 7919 % 2_500_000
                born = date(1940, 1, 1) + timedelta(days=k % 25_000)
                male = rng.random() < 0.5
                age = IMPORT_DAY.year - born.year
                labour = rng.choice(("普通劳动力",) * 6 + ("弱劳力", "半劳力", "无劳动力")) \
                    if 16 <= age <= 65 else "无劳动力"
                values = {
                    "户编号": f"K{households}", "乡镇": township,
                    "村（社区）": village,
                    "户类别": category, "监测对象类别": sub,
                    "家庭住址": f"第{households % 30 + 1}组",
                    "户联系电话": f"138{households:08d}",
                    "易地搬迁安置户": "是" if households % 11 == 0 else "否",
                    "整户低保户": "否", "危改户": "否",
                    "受灾户": "是" if households % 17 == 0 else "否",
                    "姓名": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "身份证号": resident_id("450224", born,
                                            (k // 25_000) * 10 + (1 if male else 2)),
                    "性别": "男" if male else "女", "出生日期": born.isoformat(),
                    "与户主关系": "户主" if i == 0 else rng.choice(RELATIONS),
                    "劳动能力": labour, "在校生": "否",
                    "健康状况": rng.choice(("健康",) * 6 + ("长期慢性病", "患有大病", "残疾")),
                    "本人联系电话": "", "是否已故": "否",
                }
                writer.writerow([values[h] for h in HEADERS])
                written += 1
    return households


# Set-based, so that setting the scene grows linearly too. `hashtext` of stable values (ID
# numbers, household phones) picks the same households and persons in every run.
SCENE = [
    # Open cases: every 监测户, included over the past year.
    """INSERT INTO cases (id, household_id, township, village, category, risk_types,
                          inclusion_date, status, created_at)
       SELECT gen_random_uuid()::text, id, township, village,
              coalesce(monitoring_subcategory, '边缘易致贫户'),
              CASE abs(hashtext(phone)) % 3 WHEN 0 THEN '["因病"]'::json
                   WHEN 1 THEN '["因学"]'::json ELSE '["因务工就业不稳"]'::json END,
              DATE '2024-04-19' - abs(hashtext(phone)) % 360, 'open', now()
       FROM households WHERE category = '监测户'""",
    # Helpers for all but one case in twenty.
    """INSERT INTO case_helpers (id, case_id, name, unit, assigned_on, created_at)
       SELECT gen_random_uuid()::text, c.id, '帮扶人' || abs(hashtext(c.id)) % 500,
              'county.agriculture', c.inclusion_date + 3, now()
       FROM cases c JOIN households h ON h.id = c.household_id
       WHERE abs(hashtext(h.phone)) % 20 <> 0""",
    # Plans with one measure for nine cases in ten.
    """INSERT INTO assistance_plans (id, case_id, filed_on, filed_by, summary, late, created_at)
       SELECT gen_random_uuid()::text, c.id, c.inclusion_date + 8, 'bench', '落实帮扶措施',
              false, now()
       FROM cases c JOIN households h ON h.id = c.household_id
       WHERE abs(hashtext(h.phone)) % 10 <> 1""",
    """INSERT INTO assistance_measures (id, case_id, plan_id, position, measure_type,
              measure_kind, responsible_unit, status, start_on, created_at, updated_at)
       SELECT gen_random_uuid()::text, p.case_id, p.id, 1,
              CASE WHEN abs(hashtext(p.id)) % 4 = 0 THEN '低保' ELSE '产业帮扶' END,
              CASE WHEN abs(hashtext(p.id)) % 4 = 0 THEN 'safety_net' ELSE 'developmental' END,
              CASE WHEN abs(hashtext(p.id)) % 50 = 0 THEN '' ELSE 'county.agriculture' END,
              'in_progress', p.filed_on, now(), now()
       FROM assistance_plans p""",
    # A year's income of 2022 and of 2023 (a December each, annualised by the ledger) for the
    # 脱贫户 and 监测户 and one 一般农户 in twenty: ≈15,000 yuan a head a year; in 2023 a fall
    # of more than half for one household in a hundred, under the 10,000-yuan line for some
    # 一般农户.
    """CREATE TEMP TABLE scene_income AS
       SELECT h.id, h.category, h.phone, count(*) AS persons,
              12000 + abs(hashtext(h.phone)) % 8000 AS per_head
       FROM households h JOIN members m ON m.household_id = h.id
       WHERE h.category <> '一般农户' OR abs(hashtext(h.phone)) % 20 = 0
       GROUP BY h.id, h.category, h.phone""",
    """INSERT INTO income_records (id, household_id, period, source, amount_fen, recorded_by,
                                   recorded_on, created_at)
       SELECT gen_random_uuid()::text, id, '2022-12', '工资性收入',
              persons * per_head * 100 / 12, 'bench', DATE '2023-01-10', now()
       FROM scene_income""",
    """INSERT INTO income_records (id, household_id, period, source, amount_fen, recorded_by,
                                   recorded_on, created_at)
       SELECT gen_random_uuid()::text, id, '2023-12', '工资性收入',
              persons * (CASE WHEN abs(hashtext(phone)) % 100 = 3 THEN per_head * 4 / 10
                              WHEN category = '一般农户' AND abs(hashtext(phone)) % 7 = 0
                                   THEN 8400 ELSE per_head END) * 100 / 12,
              'bench', DATE '2024-01-10', now() FROM scene_income""",
    # Risk eliminated for one case in fifty.
    "UPDATE cases SET status = 'eliminated' WHERE abs(hashtext(id)) % 50 = 0",
    # A visit in the first quarter and one this month, each for nine 脱贫户/监测户 in ten.
    """INSERT INTO visits (id, household_id, township, village, visited_on, visitor_name,
                           leaflet_explained, risk_found, risk_types, recorded_by, created_at)
       SELECT gen_random_uuid()::text, id, township, village, v.first + abs(hashtext(phone)) % 18,
              '网格员', true, false, '[]'::json, 'bench', now()
       FROM households
       CROSS JOIN (VALUES (DATE '2024-03-01', 10), (DATE '2024-04-01', 11)) AS v(first, salt)
       WHERE category <> '一般农户' AND abs(hashtext(phone || v.salt)) % 10 <> 0""",
    # Planted anomalies, about one in a thousand persons or households each.
    """UPDATE members SET id_number = left(id_number, 17)
              || CASE WHEN right(id_number, 1) = '0' THEN '1' ELSE '0' END
       WHERE abs(hashtext(id_number)) % 1000 = 1""",  # wrong check digit
    """UPDATE members SET birth_date = birth_date + 1
       WHERE abs(hashtext(id_number)) % 1000 = 2""",  # birth date not the ID's
    """UPDATE members SET sex = CASE sex WHEN '男' THEN '女' ELSE '男' END
       WHERE abs(hashtext(id_number)) % 1000 = 11""",  # sex not the ID's
    """UPDATE members SET labour_capacity = '普通劳动力'
       WHERE birth_date < DATE '1950-01-01' AND abs(hashtext(id_number)) % 100 = 3""",
    """UPDATE members SET in_school = true, labour_capacity = '普通劳动力'
       WHERE abs(hashtext(id_number)) % 1000 = 4""",  # a pupil as a full labourer
    """UPDATE members SET name = '韦明华', birth_date = DATE '1971-05-05'
       WHERE abs(hashtext(id_number)) % 2000 = 5""",  # one person in several households
    """UPDATE members SET relation = '之子' WHERE relation = '户主' AND household_id IN
       (SELECT id FROM households WHERE abs(hashtext(phone)) % 1000 = 6)""",  # no head
    """UPDATE members SET relation = '户主' WHERE relation <> '户主' AND household_id IN
       (SELECT id FROM households WHERE abs(hashtext(phone)) % 1000 = 7)""",  # several heads
    """UPDATE households SET monitoring_subcategory = NULL
       WHERE category = '监测户' AND abs(hashtext(phone)) % 100 = 8""",
    """UPDATE households SET monitoring_subcategory = '边缘易致贫户'
       WHERE category = '一般农户' AND abs(hashtext(phone)) % 1000 = 9""",
    """UPDATE households SET phone = left(phone, 7)
       WHERE abs(hashtext(phone)) % 1000 = 10""",  # malformed phone
    "ANALYZE",
]

# The ledger of a county in late April: visits of February and March (mostly met), April's
# (open unless visited), the Q1 full visit, and each case's helper, plan and 6-month
# assessment deadlines. The warnings' verification deadlines come from step (b).
LEDGER = [
    """INSERT INTO deadlines (id, kind, subject_type, subject_id, household_id, township,
                             village, started_on, due_on, due_soon_on, state, met_on, context,
                             created_at)
       SELECT gen_random_uuid()::text, 'visit.monthly', 'household',
              h.id || ':' || to_char(m.month, 'YYYY-MM'), h.id, h.township, left(h.village, 32),
              m.month, (m.month + interval '1 month' - interval '1 day')::date,
              (m.month + interval '1 month' - interval '6 days')::date, 'met',
              CASE WHEN m.month = DATE '2024-03-01' AND abs(hashtext(h.phone)) % 20 = 1
                        THEN NULL
                   WHEN m.month = DATE '2024-04-01' THEN
                        (SELECT min(v.visited_on) FROM visits v WHERE v.household_id = h.id
                         AND v.visited_on >= m.month)
                   ELSE m.month + 12 END AS met_on,
              json_build_object('month', to_char(m.month, 'YYYY-MM')), now()
       FROM households h
       CROSS JOIN (VALUES (DATE '2024-02-01'), (DATE '2024-03-01'), (DATE '2024-04-01'))
            AS m(month)
       WHERE h.category <> '一般农户'""",
    """UPDATE deadlines SET state = 'open' WHERE kind = 'visit.monthly' AND met_on IS NULL""",
    """INSERT INTO deadlines (id, kind, subject_type, subject_id, household_id, township,
                             village, started_on, due_on, due_soon_on, state, met_on, context,
                             created_at)
       SELECT gen_random_uuid()::text, 'visit.q1', 'household', h.id || ':2024Q1', h.id,
              h.township, left(h.village, 32), DATE '2024-01-01', DATE '2024-03-31',
              DATE '2024-03-21',
              CASE WHEN abs(hashtext(h.phone)) % 20 = 2 THEN 'open' ELSE 'met' END,
              CASE WHEN abs(hashtext(h.phone)) % 20 = 2 THEN NULL ELSE DATE '2024-03-15' END,
              '{"year": 2024}'::json, now()
       FROM households h WHERE h.category <> '一般农户'""",
    """INSERT INTO deadlines (id, kind, subject_type, subject_id, household_id, township,
                             village, started_on, due_on, due_soon_on, state, met_on, context,
                             created_at)
       SELECT gen_random_uuid()::text, k.kind, 'case', c.id, c.household_id, c.township,
              left(c.village, 32), c.inclusion_date, c.inclusion_date + k.days,
              c.inclusion_date + k.days - k.warn,
              CASE WHEN k.kind = 'case.helper' AND hp.id IS NOT NULL THEN 'met'
                   WHEN k.kind = 'case.plan' AND p.id IS NOT NULL THEN 'met'
                   ELSE 'open' END,
              CASE WHEN k.kind = 'case.helper' THEN hp.assigned_on
                   WHEN k.kind = 'case.plan' THEN p.filed_on END,
              '{}'::json, now()
       FROM cases c
       CROSS JOIN (VALUES ('case.helper', 5, 1), ('case.plan', 10, 2)) AS k(kind, days, warn)
       LEFT JOIN case_helpers hp ON hp.case_id = c.id
       LEFT JOIN assistance_plans p ON p.case_id = c.id""",
    """INSERT INTO deadlines (id, kind, subject_type, subject_id, household_id, township,
                             village, started_on, due_on, due_soon_on, state, met_on, context,
                             created_at)
       SELECT gen_random_uuid()::text, 'case.assessment', 'case', c.id, c.household_id,
              c.township, left(c.village, 32), c.inclusion_date,
              (c.inclusion_date + interval '6 months')::date,
              (c.inclusion_date + interval '6 months')::date,
              CASE WHEN c.inclusion_date + interval '6 months' < DATE '2024-04-20'
                        AND abs(hashtext(c.id)) % 10 <> 0 THEN 'met' ELSE 'open' END,
              CASE WHEN c.inclusion_date + interval '6 months' < DATE '2024-04-20'
                        AND abs(hashtext(c.id)) % 10 <> 0
                   THEN (c.inclusion_date + interval '6 months')::date END,
              '{}'::json, now()
       FROM cases c""",
    "ANALYZE deadlines",
]


SCAN_ROUNDS = 3
SCAN_EVENTS = ("(event_type LIKE '%due_soon' OR event_type LIKE '%overdue' "
               "OR event_type LIKE '%assessment_due')")


async def vacuum(url: str) -> None:
    """Vacuum and analyse after a bulk change, as autovacuum would soon: the next step is then
    timed on a settled database, not next to autovacuum's pass over a million fresh rows."""
    conn = await pg_connect(url)
    try:
        await conn.execute("SET search_path TO monitoring")
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def undo_scan(url: str) -> None:
    """Put the ledger and the outbox back as they were before the scan."""
    conn = await pg_connect(url)
    try:
        await conn.execute("SET search_path TO monitoring")
        await conn.execute("UPDATE deadlines SET state = 'open', overdue_emitted_at = NULL "
                           "WHERE overdue_emitted_at IS NOT NULL")
        await conn.execute("UPDATE deadlines SET due_soon_emitted_at = NULL "
                           "WHERE due_soon_emitted_at IS NOT NULL")
        await conn.execute("DELETE FROM outbox WHERE " + SCAN_EVENTS)
        await conn.execute("VACUUM ANALYZE deadlines")
        await conn.execute("VACUUM ANALYZE outbox")
    finally:
        await conn.close()


def department_file(pool: list[str], rows: int) -> bytes:
    """The health department's serious-illness list: 30 % of rows on the county's persons
    (POOL of them, most more than once), the others on persons of a neighbouring county,
    1 % malformed IDs."""
    rng = random.Random(SEED + 1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["身份证号", "姓名", "病种"])
    for i in range(rows):
        if i % 100 == 99:
            writer.writerow([f"4502241980010100{i % 10}", f"错号{i}", "慢性肾病"])  # 17 digits
        elif rng.random() < 0.3:
            writer.writerow([rng.choice(pool), f"人{i}", "慢性肾病"])
        else:
            born = date(1940, 1, 1) + timedelta(days=rng.randrange(25_000))
            writer.writerow([resident_id("450225", born, rng.randrange(1000)), f"外{i}",
                             "恶性肿瘤"])
    return out.getvalue().encode("utf-8-sig")


async def plain_join(db: Database, content: bytes) -> tuple[float, int]:
    """The same rows read, COPYed into a temporary table and joined on the ID number."""
    started = time.perf_counter()
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    next(reader)
    records = [(r[0], r[1], r[2]) for r in reader]
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        async with raw.transaction():
            await raw.execute("CREATE TEMP TABLE plain_rows (id_number text, name text, "
                              "disease text) ON COMMIT DROP")
            await raw.copy_records_to_table("plain_rows", records=records,
                                            columns=["id_number", "name", "disease"])
            await raw.execute("CREATE TEMP TABLE plain_matched ON COMMIT DROP AS "
                              "SELECT r.*, m.id AS member_id, m.household_id FROM plain_rows r "
                              "JOIN members m ON m.id_number = r.id_number")
            matched = await raw.fetchval("SELECT count(*) FROM plain_matched")
    return time.perf_counter() - started, matched


async def quality_run(db: Database, county: County, clock: SettableClock):
    """Step (c); None when the data-quality package is not there."""
    try:
        from fangpin_monitoring.quality.service import run_checks
    except ImportError as exc:
        if not (exc.name or "").startswith("fangpin_monitoring.quality"):
            raise
        return None
    async with db.unit_of_work() as session:
        return await run_checks(session, county, clock, trigger="manual")


async def run_size(persons: int, dept_rows: int) -> dict:
    county = load_county(COUNTY_FILE)
    memory = PeakMemory()
    results: dict[str, dict] = {}
    clock = SettableClock()
    clock.set_today(IMPORT_DAY)
    principal = Principal(sub="bench", role="county", unit=county.county.lead_unit)

    def record(step: str, items: int, seconds: float, **extra) -> None:
        results[step] = {"items": items, "seconds": seconds, "peak_mb": memory.peak_mb(),
                         "start_mb": memory.start_mb, **extra}

    print(f"\n== {persons:,} persons (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores; peak = the process's RSS high-water during the step; at start = its RSS when the step began)",
          flush=True)
    async with own_database(POSTGRES_URL, f"fangpin_bench_scale_{os.getpid()}") as url:
        settings = MonitoringSettings(_env_file=None, database_url=url,
                                      database_schema="monitoring", county_config=COUNTY_FILE,
                                      log_level="WARNING")
        await migrations.upgrade("monitoring", settings)
        db = Database(settings)
        try:
            with tempfile.TemporaryDirectory(prefix="fangpin-bench-") as tmp:
                path = Path(tmp) / "households.csv"
                started = time.perf_counter()
                households = write_county(path, county, persons)
                print(line(f"synthetic file: {households:,} households, "
                           f"{path.stat().st_size / 1e6:.0f} MB", time.perf_counter() - started),
                      flush=True)
                memory.start()
                started = time.perf_counter()
                with path.open("rb") as f:
                    async with db.unit_of_work() as session:
                        report = await import_households(session, principal, county, clock, f,
                                                         "households.csv")
                record("a_import", persons, time.perf_counter() - started)
            assert report.error_count == 0 and report.members == persons, report.error_count
            _print(results, "a_import", "(a) import through the service", "persons")

            started = time.perf_counter()
            async with db.unit_of_work() as session:
                for statement in SCENE:
                    await (await session.connection()).exec_driver_sql(statement)
                counts = {t: (await session.execute(text(f"SELECT count(*) FROM {t}")))
                          .scalar_one() for t in ("cases", "case_helpers", "assistance_plans",
                                                  "income_records", "visits")}
                pool = list((await session.execute(text(
                    "SELECT id_number FROM members ORDER BY hashtext(id_number) LIMIT :n"),
                    {"n": POOL})).scalars())
            print(line("scene: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
                       time.perf_counter() - started, width=78), flush=True)
            await vacuum(url)

            content = department_file(pool, dept_rows)
            memory.start()
            started = time.perf_counter()
            async with db.unit_of_work() as session:
                upload = await warnings_service.import_file(
                    session, kind_code="health.serious_illness", period="2024-03",
                    filename="serious_illness.csv", declared_format=None, content=content,
                    principal=principal, county=county, clock=clock)
            record("b_match", dept_rows, time.perf_counter() - started)
            plain_seconds, plain_matched = await plain_join(db, content)
            results["b_match"].update(plain_seconds=plain_seconds, plain_matched=plain_matched)
            _print(results, "b_match", "(b) department file through the service", "rows")
            print(f"      {upload.rows_matched:,} matched ({upload.warnings_raised:,} warnings "
                  f"with deadlines and events), {upload.rows_unmatched:,} unmatched, "
                  f"{upload.rows_invalid:,} invalid", flush=True)
            print(line("(b) plain COPY + JOIN on id_number", plain_seconds, dept_rows, width=44)
                  + f"  ({plain_matched:,} joined)")
            print(f"      ratio service / plain: {results['b_match']['seconds'] / plain_seconds:.1f}x",
                  flush=True)

            memory.start()
            started = time.perf_counter()
            run = await quality_run(db, county, clock)
            if run is None:
                print("  (c) data-quality run: skipped (fangpin_monitoring.quality is not "
                      "installed on this branch)", flush=True)
            else:
                record("c_quality", persons, time.perf_counter() - started)
                _print(results, "c_quality", "(c) full data-quality run", "persons")
                from fangpin_monitoring.quality.models import Anomaly

                async with db.session() as session:
                    found = dict((await session.execute(
                        select(Anomaly.status, func.count()).group_by(Anomaly.status))).all())
                by_rule = getattr(run, "counts_by_rule", None) or {}
                print(f"      anomaly items by status: {found}; by rule: "
                      + ", ".join(f"{k} {v:,}" for k, v in sorted(by_rule.items())), flush=True)

            started = time.perf_counter()
            async with db.unit_of_work() as session:
                for statement in LEDGER:
                    await (await session.connection()).exec_driver_sql(statement)
                ledger = dict((await session.execute(text(
                    "SELECT state, count(*) FROM deadlines GROUP BY state"))).all())
            print(line("ledger: " + ", ".join(f"{v:,} {k}" for k, v in sorted(ledger.items())),
                       time.perf_counter() - started, width=78), flush=True)
            await vacuum(url)
            clock.set_today(SCAN_DAY)
            scanner = DeadlineScanner("monitoring", db, clock, Metrics("monitoring"),
                                      SPEC.deadline_events)
            # The pass is short at the small sizes: three rounds on the same ledger (each
            # round's claims and events undone, the tables vacuumed), the median kept.
            memory.start()
            rounds = []
            for round_no in range(SCAN_ROUNDS):
                if round_no:
                    await undo_scan(url)
                started = time.perf_counter()
                emitted = await scanner.scan()
                rounds.append(time.perf_counter() - started)
            record("d_scan", emitted, sorted(rounds)[len(rounds) // 2],
                   rounds=[round(r, 3) for r in rounds])
            _print(results, "d_scan", "(d) one deadline scan (events via outbox)", "events")
            async with db.session() as session:
                by_type = (await session.execute(text(
                    "SELECT event_type, count(*) FROM outbox WHERE " + SCAN_EVENTS
                    + " GROUP BY 1 ORDER BY 1"))).all()
            print("      " + ", ".join(f"{t.split('.', 2)[-1]} {n:,}" for t, n in by_type)
                  + "; rounds " + ", ".join(f"{r:.2f} s" for r in rounds) + " (median above)",
                  flush=True)
        finally:
            await db.dispose()
    return {"persons": persons, "households": households, "steps": results}


def _print(results: dict, step: str, label: str, unit: str) -> None:
    r = results[step]
    print(line(label, r["seconds"], r["items"], unit)
          + f"   peak {r['peak_mb']:5.0f} MB (at start {r['start_mb']:.0f})", flush=True)


def growth(runs: list[dict]) -> bool:
    base = runs[0]
    print(f"\n== growth: time per item at each size ÷ time per item at {base['persons']:,} "
          "persons (1.00 = linear; ≤ 1.5 counts as no faster than linear)")
    print("  " + f"{'step':<34}" + "".join(f"{r['persons']:>14,}" for r in runs[1:]))
    ok = True
    for step, label, unit in STEPS:
        if step not in base["steps"]:
            print(f"  {label:<34}" + "".join(f"{'skipped':>14}" for _ in runs[1:]))
            continue
        b = base["steps"][step]
        cells = []
        for r in runs[1:]:
            s = r["steps"].get(step)
            if s is None:
                cells.append(f"{'-':>14}")
                continue
            ratio = (s["seconds"] / s["items"]) / (b["seconds"] / b["items"])
            ok = ok and ratio <= 1.5
            cells.append(f"{ratio:>14.2f}")
        print(f"  {label + ' (per ' + unit[:-1] + ')':<34}" + "".join(cells))
    print("  " + f"{'(b) service / plain join':<34}"
          + "".join(f"{r['steps']['b_match']['seconds'] / r['steps']['b_match']['plain_seconds']:>13.1f}x"
                    for r in runs[1:])
          + f"   (at {base['persons']:,}: "
            f"{base['steps']['b_match']['seconds'] / base['steps']['b_match']['plain_seconds']:.1f}x)")
    return ok


def main() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # sqlmodel's execute()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M",
                        help="persons per county, comma-separated (10k, 100k, 1M …)")
    parser.add_argument("--dept-rows", type=int, default=100_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(run_size(args.child, args.dept_rows))
        Path(args.result).write_text(json.dumps(result))
        return
    sizes = sorted(parse_size(s) for s in args.sizes.split(","))
    runs = []
    with tempfile.TemporaryDirectory(prefix="fangpin-bench-") as tmp:
        for size in sizes:
            out = Path(tmp) / f"{size}.json"
            # A process per size: its memory peaks are its own.
            subprocess.run([sys.executable, __file__, "--child", str(size), "--result", str(out),
                            "--dept-rows", str(args.dept_rows)], check=True)
            runs.append(json.loads(out.read_text()))
    if len(runs) > 1:
        ok = growth(runs)
        print("\nPASS: every step's time per item grows no faster than linearly (ratio ≤ 1.5)"
              if ok else
              "\nFAIL: some step's time per item grows faster than linearly (ratio > 1.5)")


if __name__ == "__main__":
    main()
