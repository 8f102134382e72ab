"""Employment at county scale, on PostgreSQL: how the heart of the service grows with labourers.

For each size (labourers), in a fresh PostgreSQL schema and a private JetStream:
  1. monitoring's household.upserted events for that many labourers are published;
  2. the labourers read model is rebuilt from the stream (the admin/CLI rebuild);
  3. the quarter's work-information deadlines are opened (one per labourer);
  4. a quarter of work information is ingested through the HTTP batch endpoint;
  5. returnees are promoted by the scanner, "251" items are in the ledger;
  6. the monthly form of the largest township (长安镇) and the county roll-up are generated,
     as rows and as XLSX.
Figures are printed per size, and each size's cost per labourer against the smallest size of
the same run (1.00 = linear growth).

    .venv/bin/python bench/employment_scale.py --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import nats
from _support import line
from sqlalchemy import func, insert, select, text

from fangpin_common import export, migrations
from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.events.monitoring import (
    HouseholdUpserted,
    HouseholdUpsertedData,
    MemberSnapshot,
)
from fangpin_common.natsserver import NatsServer
from fangpin_common.testing import TEST_JWKS, ensure_postgres_database, token_for
from fangpin_employment.assistance.models import AssistanceItem
from fangpin_employment.forms import rules as form_rules
from fangpin_employment.forms import service as forms
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.models import Labourer
from fangpin_employment.main import create_app
from fangpin_employment.returnees import service as returnees
from fangpin_employment.returnees.models import Return
from fangpin_employment.settings import EmploymentSettings
from fangpin_employment.workinfo import service as workinfo

ROOT = Path(__file__).resolve().parents[1]
COUNTY_FILE = ROOT / "config" / "county.yaml"
POSTGRES = os.environ.get("FANGPIN_BENCH_POSTGRES_URL",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/fangpin_bench")
TODAY = date(2024, 6, 20)  # late in Q2: the quarter's work information is being entered
SURNAMES = "韦覃黄蓝莫潘陆梁卢罗谢李吴龙杨石"
GIVEN = "明强丽芳军华平红英春秀兰福贵德海燕玲光辉"


def township_weights(county) -> list[tuple[str, int]]:
    """Labourers per township in proportion to the plan's transfer targets."""
    by_name = {t.name: t.code for t in county.townships}
    return [(by_name[t.township], t.total) for t in county.transfer_targets]


def households_for(size: int, county, rng: random.Random):
    """Household snapshots holding exactly `size` working-age labourers (plus some children)."""
    weights = township_weights(county)
    codes = [c for c, _ in weights]
    cum = [w for _, w in weights]
    made = 0
    n = 0
    at = datetime(2024, 4, 1, tzinfo=UTC)
    while made < size:
        n += 1
        k = min(rng.choice((1, 2, 2, 3, 3, 4)), size - made)
        township = rng.choices(codes, cum_weights=None, weights=cum)[0]
        village = f"{township[-3:]}村{rng.randint(1, 60):02d}"
        monitored = rng.random() < 0.12
        members = []
        for i in range(k):
            born = date(1965, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
            members.append(MemberSnapshot(
                member_id=f"m{n}-{i}", name=rng.choice(SURNAMES) + rng.choice(GIVEN) +
                rng.choice(GIVEN), sex=rng.choice("男女"), birth_date=born,
                relation="户主" if i == 0 else "其他",
                labour_capacity=rng.choice(("普通劳动力",) * 8 + ("弱劳力", "半劳力"))))
        if rng.random() < 0.3:
            members.append(MemberSnapshot(member_id=f"m{n}-c", name="小" + rng.choice(GIVEN),
                                          sex="男", birth_date=date(2016, 3, 3), relation="之子",
                                          labour_capacity="无劳动力", in_school=True))
        made += k
        yield HouseholdUpserted(subject=f"h{n}", time=at, data=HouseholdUpsertedData(
            household_id=f"h{n}", township=township, village=village,
            category="监测户" if monitored else "脱贫户",
            monitoring_subcategory="边缘易致贫户" if monitored else None,
            head_name=members[0].name, members=members, revision=1))


async def publish(nats_url: str, size: int, county, rng: random.Random) -> tuple[int, float]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=60)
    try:
        try:
            await js.delete_stream("FANGPIN_MONITORING")
        except Exception:  # noqa: BLE001 (first size: no stream yet)
            pass
        await js.add_stream(name="FANGPIN_MONITORING", subjects=["fangpin.monitoring.>"])
        started = time.perf_counter()
        count = 0
        pending = []
        for event in households_for(size, county, rng):
            pending.append(await js.publish_async(event.type, event.to_json(),
                                                  wait_stall=30))
            count += 1
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        return count, time.perf_counter() - started
    finally:
        await nc.close()


async def run_size(size: int, nats_url: str, county, seed: int) -> dict:
    rng = random.Random(seed)
    schema = f"bench_employment_{size}"
    settings = EmploymentSettings(
        _env_file=None, database_url=POSTGRES, database_schema=schema, nats_url=nats_url,
        county_config=COUNTY_FILE, run_relay=False, run_consumers=False, run_scanners=False,
        log_level="WARNING", jwks=TEST_JWKS, jwks_url=None)
    await _drop_schema(settings)
    await migrations.upgrade("employment", settings)
    clock = SettableClock()
    clock.set_today(TODAY)
    app = create_app(settings, clock)
    db = app.state.db
    out: dict[str, float] = {"size": size}
    print(f"\n== {size:,} labourers (schema {schema})")

    events, seconds = await publish(nats_url, size, county, rng)
    print(line(f"publish {events:,} household events", seconds, events, "events"))

    nc = await nats.connect(nats_url)
    try:
        report = await labourers.rebuild(db, nc.jetstream(timeout=60))
    finally:
        await nc.close()
    out["rebuild"] = report.seconds
    print(line(f"rebuild read model ({report.labourers:,} persons)", report.seconds,
               report.active_labourers, "labourers"))
    assert report.active_labourers == size, report

    started = time.perf_counter()
    async with db.unit_of_work() as session:
        opened = await workinfo.open_quarter_deadlines(session, county, TODAY, clock.now())
    out["deadlines"] = time.perf_counter() - started
    print(line(f"open {opened:,} quarter deadlines", out["deadlines"], opened))

    # A quarter of work information, through the batch endpoint (1,000 records a request).
    async with db.session() as session:
        ids = list((await session.execute(select(Labourer.id).where(Labourer.active)
                                          .order_by(Labourer.id))).scalars())
    token = token_for("county")
    started = time.perf_counter()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                 headers={"Authorization": f"Bearer {token}"},
                                 timeout=600) as client:
        for start in range(0, len(ids), 1000):
            records = []
            for lid in ids[start:start + 1000]:
                months = rng.choice((0, 0, 0, 1, 2, 3, 3, 3, 3, 3))
                location = rng.choice(("县内", "区内县外", "区外")) if months else None
                records.append({
                    "labourer_id": lid, "year": 2024, "quarter": 2, "months_worked": months,
                    "wage_fen": months * rng.randint(200_000, 600_000),
                    "location_type": location, "place": "某地" if months else None,
                    "employer": "某企业" if months else None, "verified_on": "2024-06-15"})
            r = await client.post("/api/v1/work-info/batch", json={"records": records})
            assert r.status_code == 201, r.text
    out["ingest"] = time.perf_counter() - started
    print(line("ingest Q2 work information (HTTP batches)", out["ingest"], len(ids)))

    # Returnees (1 %) back for more than a month, and "251" items for one labourer in ten.
    now = clock.now()
    sample = rng.sample(ids, max(1, len(ids) // 100))
    helped = rng.sample(ids, max(1, len(ids) // 10))
    async with db.unit_of_work() as session:
        people = {}
        wanted = list(set(sample) | set(helped))
        for part in range(0, len(wanted), 5000):
            people.update({r.id: r for r in await session.execute(select(
                Labourer.id, Labourer.household_id, Labourer.township, Labourer.village)
                .where(Labourer.id.in_(wanted[part:part + 5000])))})
        rows = [{"id": str(uuid4()), "labourer_id": lid, "household_id": people[lid].household_id,
                 "township": people[lid].township, "village": people[lid].village,
                 "previous_location_type": "区外", "back_since": date(2024, 5, 1),
                 "qualifies_on": date(2024, 6, 2), "state": "back", "reported_by": "bench",
                 "created_at": now} for lid in sample]
        for part in range(0, len(rows), 2000):
            await session.execute(insert(Return), rows[part:part + 2000])
        items = []
        for lid in helped:
            person = people[lid]
            for kind, n in (("job_recommendation", rng.randint(0, 2)),
                            ("policy_contact", rng.randint(1, 5)),
                            ("training_referral", rng.randint(0, 1))):
                items += [{"id": str(uuid4()), "labourer_id": lid,
                           "household_id": person.household_id, "township": person.township,
                           "village": person.village, "kind": kind,
                           "item_on": date(2024, 5, 1 + i), "helper_name": "帮扶人",
                           "content": "服务", "recorded_by": "bench", "recorded_at": now}
                          for i in range(n)]
        for part in range(0, len(items), 2000):
            await session.execute(insert(AssistanceItem), items[part:part + 2000])
    started = time.perf_counter()
    policy = app.state.employment_policy
    promoted = await returnees.scan_returns(db, county, policy, clock)
    out["returnees"] = time.perf_counter() - started
    print(line(f"promote {promoted:,} returnees (returned_home, once each)", out["returnees"],
               promoted))

    changan = county.township("长安镇").code
    async with db.session() as session:
        started = time.perf_counter()
        rows = await forms.township_rows(session, county, policy, changan, TODAY)
        out["form_rows"] = time.perf_counter() - started
        started = time.perf_counter()
        xlsx = _xlsx(rows)
        out["form_xlsx"] = time.perf_counter() - started
        in_changan = (await session.execute(select(func.count()).select_from(Labourer).where(
            Labourer.township == changan, Labourer.active))).scalar_one()
    print(line(f"长安镇 form: {len(rows):,} rows of {in_changan:,} labourers", out["form_rows"],
               in_changan, "labourers"))
    print(line(f"长安镇 form as XLSX ({len(xlsx) / 1e6:.1f} MB)", out["form_xlsx"], len(rows)))
    async with db.session() as session:
        started = time.perf_counter()
        form = await forms.county_form(session, county, policy, "2024-06", clock)
        out["county_rows"] = time.perf_counter() - started
    started = time.perf_counter()
    xlsx = _xlsx(form.rows, county)
    out["county_xlsx"] = time.perf_counter() - started
    print(line(f"county roll-up: {len(form.rows):,} rows", out["county_rows"], size,
               "labourers"))
    print(line(f"county roll-up as XLSX ({len(xlsx) / 1e6:.1f} MB)", out["county_xlsx"],
               len(form.rows)))
    await db.dispose()
    return out


def _xlsx(rows, county=None) -> bytes:
    wb = export.workbook()
    export.add_table_sheet(wb, "2024-06", "融安县" + form_rules.FORM_NAME, form_rules.COLUMNS,
                           rows, footer=("填报人:", "", "", "", "", "", "联系电话:"))
    if county is not None:
        export.add_table_sheet(wb, "汇总", "汇总", ["乡(镇)", "人数"], forms.summary(county, rows))
    return export.to_bytes(wb)


async def _drop_schema(settings) -> None:
    from fangpin_common.db import create_engine

    await ensure_postgres_database(POSTGRES)
    engine = create_engine(settings.model_copy(update={"database_schema": "public"}))
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.schema}" CASCADE'))
    await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=20240329)
    args = parser.parse_args()
    county = load_county(COUNTY_FILE)
    with tempfile.TemporaryDirectory(prefix="fangpin-bench-") as tmp:
        server = NatsServer(Path(tmp))
        server.start()
        try:
            results = [await run_size(size, server.url, county, args.seed)
                       for size in sorted(args.sizes)]
        finally:
            server.stop()
    base = results[0]
    print(f"\n== growth against {base['size']:,} labourers "
          "(time ratio / size ratio; 1.00 = linear)")
    steps = ("rebuild", "deadlines", "ingest", "returnees", "form_rows", "form_xlsx",
             "county_rows", "county_xlsx")
    print("  " + f"{'size':>10}" + "".join(f"{s:>13}" for s in steps))
    for r in results:
        scale = r["size"] / base["size"]
        cells = "".join(f"{(r[s] / base[s]) / scale if base[s] else 0:>13.2f}" for s in steps)
        print("  " + f"{r['size']:>10,}" + cells)


if __name__ == "__main__":
    asyncio.run(main())
