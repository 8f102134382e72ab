"""The scope matrix: every operation of the four services' OpenAPI × every kind of caller,
against data in two townships and two villages of each.

Path parameters name the other area's objects; query filters name the other area; request
bodies are built from each operation's schema with the other area's codes and ids. Then:
  - nothing but the public health routes answers without a valid token (none, expired, signed
    by another key, an unknown department);
  - no successful answer (JSON, XLSX, CSV) carries an id of an object outside the caller's
    reach, or a full resident ID / phone number to a role that sees them masked;
  - a write outside the caller's reach is refused and changes no row of the service;
  - no answer is a server error.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from sqlalchemy import inspect, text

from fangpin_common.auth import Principal
from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.settings import ServiceSettings
from fangpin_common.testing import (
    COUNTY_CONFIG,
    TEST_KEY,
    auth,
    confirmed_case,
    eventually,
    running,
    settings_for,
    token_for,
)
from fangpin_common.tokens import SigningKey, mint
from fangpin_employment.main import create_app as employment_app
from fangpin_employment.settings import EmploymentSettings
from fangpin_industry.main import create_app as industry_app
from fangpin_industry.settings import IndustrySettings
from fangpin_monitoring.households import rules
from fangpin_monitoring.main import create_app as monitoring_app
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_notifications.main import create_app as notifications_app
from fangpin_notifications.settings import NotificationsSettings

TODAY = date(2024, 4, 10)
A, B = "450224103", "450224100"  # 板榄镇 (the callers' township), 长安镇 (the other one)
VILLAGES = {"A1": (A, "矩阵甲村"), "A2": (A, "矩阵乙村"), "B1": (B, "矩阵丙村"),
            "B2": (B, "矩阵丁村")}
COUNTY = auth(token_for("county"))
PLATFORM = auth(token_for("platform"))
# Infrastructure rows move on their own (relay, consumers) or record reads (audit).
UNWATCHED = {"outbox", "processed_events", "dead_letters", "audit_log", "alembic_version"}
PUBLIC = {"/healthz", "/readyz", "/metrics"}
NO_OBJECT = "00000000-0000-4000-8000-000000000000"


def resident_id(serial: int) -> str:
    first17 = f"45022419800101{2 * serial + 1:03d}"  # odd: a man
    return first17 + rules.check_digit(first17)


@dataclass
class Obj:
    """A seeded object: what it is, where it is, and what a department's grant looks at."""

    kind: str
    id: str
    township: str
    village: str
    household: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    objects: list[Obj] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)  # full resident IDs and phones
    params: dict[str, Any] = field(default_factory=dict)  # name → the other area's value
    ledger: set[str] = field(default_factory=set)  # households on the income ledger

    def describe(self, marker: str) -> str:
        """A leaked marker as a reader of the failure understands it."""
        for o in self.objects:
            if o.id == marker:
                return f"{o.kind} {o.id} of {o.village}"
        return "a full ID or phone" if marker in self.secrets else marker

    def add(self, kind: str, id_: str, area: str, household: str | None = None,
            **attrs: Any) -> str:
        township, village = VILLAGES[area]
        self.objects.append(Obj(kind, id_, township, village, household, attrs))
        return id_


@dataclass
class Caller:
    name: str
    headers: dict[str, str]
    kind: str  # all | township | village | department | refused
    department: str | None = None


def callers(county) -> list[Caller]:
    out = [Caller("county", COUNTY, "all"), Caller("platform", PLATFORM, "all"),
           Caller("township", auth(token_for("township", "板榄镇")), "township"),
           Caller("village", auth(token_for("village", "板榄镇", village="矩阵甲村")), "village")]
    for code in county.department_grants:
        out.append(Caller(f"department:{code}",
                          auth(token_for("department", department=code)), "department", code))
    # Signed by a key the services do not trust (same kid as theirs: only the signature differs).
    other_key = SigningKey.generate(TEST_KEY.kid)
    expired = mint(TEST_KEY, Principal(sub="old", role="county", unit="county.rural_revitalisation"),
                   issuer=ServiceSettings(_env_file=None).jwt_issuer, ttl=timedelta(hours=1),
                   now=datetime.now(UTC) - timedelta(days=1))
    out += [Caller("department:unknown",
                   auth(token_for("department", department="county.nonexistent")), "refused"),
            Caller("no token", {}, "refused"),
            Caller("expired token", auth(expired), "refused"),
            Caller("other key", auth(token_for("county", key=other_key)), "refused")]
    return out


# -- what a caller may see ------------------------------------------------------------------

def _grants(county, caller: Caller) -> dict:
    return county.department_grants.get(caller.department or "", {})


def reaches_all(county, caller: Caller, service: str) -> bool:
    if caller.kind == "all":
        return True
    grants = _grants(county, caller) if caller.kind == "department" else {}
    return (service == "industry" and "industry" in grants) or (
        service == "employment" and "employment" in grants)


def department_sees(county, caller: Caller, obj: Obj, world: World) -> bool:
    grants = _grants(county, caller)
    household_kinds = ("household", "member")
    if obj.kind in household_kinds:
        grant = grants.get("households")
        if grant is not None and grant.matches(obj.attrs, caller.department):
            return True
        if "income_ledger" in grants and (obj.household or obj.id) in world.ledger:
            return True
        # Labourers and industry households name their household.
        return bool({"employment", "labourers", "industry"} & set(grants))
    if obj.kind in ("labourer", "post", "workshop"):
        return bool({"employment", "labourers"} & set(grants))
    if obj.kind in ("project",):
        return "industry" in grants
    return False


def foreign_markers(county, caller: Caller, service: str, world: World) -> set[str]:
    """Strings that must not appear in what this caller is shown by this service."""
    if reaches_all(county, caller, service):
        def sees(o: Obj) -> bool:
            return True
    elif caller.kind == "township":
        def sees(o: Obj) -> bool:
            return o.township == A
    elif caller.kind == "village":
        def sees(o: Obj) -> bool:
            return o.village == VILLAGES["A1"][1]
    elif caller.kind == "department":
        def sees(o: Obj) -> bool:
            return department_sees(county, caller, o, world)
    else:
        def sees(o: Obj) -> bool:
            return False
    # One id may stand for two objects (a member and its labourer): foreign only if both are.
    markers = {o.id for o in world.objects if not sees(o)} - {
        o.id for o in world.objects if sees(o)}
    if caller.kind == "township":
        markers |= {VILLAGES["B1"][1], VILLAGES["B2"][1]}
    if caller.kind == "village":
        markers |= {VILLAGES[k][1] for k in ("A2", "B1", "B2")}
    if caller.kind not in ("all", "township"):
        markers |= world.secrets
    return markers


# -- seeding ----------------------------------------------------------------------------------

async def ok(response, *codes: int) -> dict | list:
    assert response.status_code in (codes or (200, 201)), response.text
    return response.json()


async def seed(clients: dict, world: World) -> None:
    mon = clients["monitoring"]
    serial = 0
    for area, (township, village) in VILLAGES.items():
        kept = {}
        for role, dibao in (("mon", False), ("plain", True)):
            serial += 1
            phone, member_phone = f"1390000{serial:04d}", f"1380000{serial:04d}"
            h = await ok(await mon.post("/api/v1/households", headers=COUNTY, json={
                "township": township, "village": village, "category": "脱贫户",
                "whole_household_dibao": dibao, "phone": phone, "members": [{
                    "name": f"户主{serial}", "id_number": resident_id(serial), "sex": "男",
                    "birth_date": "1980-01-01", "relation": "户主",
                    "labour_capacity": "普通劳动力", "phone": member_phone}]}))
            world.secrets |= {resident_id(serial), phone, member_phone}
            category = "监测户" if role == "mon" else "脱贫户"
            attrs = {"category": category, "whole_household_dibao": dibao}
            world.add("household", h["id"], area, h["id"], **attrs)
            world.add("member", h["members"][0]["id"], area, h["id"], **attrs)
            kept[role] = h["id"]
        case = await confirmed_case(mon, kept["mon"], TODAY - timedelta(days=3))
        world.add("case", case["id"], area, kept["mon"])
        helper_phone = f"1370000{serial:04d}"
        world.secrets.add(helper_phone)
        helper = await ok(await mon.post(f"/api/v1/cases/{case['id']}/helpers", headers=COUNTY,
                                         json={"name": "帮扶人", "phone": helper_phone}))
        world.add("helper", helper["id"], area, kept["mon"])
        plan = await ok(await mon.post(f"/api/v1/cases/{case['id']}/plan", headers=COUNTY, json={
            "summary": "发展产业", "measures": [{"measure_type": "产业帮扶",
                                             "responsible_unit": "county.agriculture"}]}))
        world.add("measure", plan["measures"][0]["id"], area, kept["mon"])
        ident = await ok(await mon.post("/api/v1/identifications", headers=COUNTY, json={
            "household_id": kept["plain"], "source": "自主申报", "category": "突发严重困难户",
            "risk_types": ["因灾"], "clue": "房屋受损"}))
        world.add("identification", ident["id"], area, kept["plain"])
        warning = await ok(await mon.post("/api/v1/warnings", headers=COUNTY, json={
            "household_id": kept["mon"], "source": "入户走访", "risk_type": "因病",
            "reason": "户主突发疾病住院"}))
        world.add("warning", warning["id"], area, kept["mon"])
        worker_phone = f"1360000{serial:04d}"
        world.secrets.add(worker_phone)
        grid = await ok(await mon.post("/api/v1/grid-areas", headers=COUNTY, json={
            "township": township, "village": village, "name": f"{village}一组",
            "worker_name": "网格员", "worker_phone": worker_phone,
            "household_ids": [kept["mon"], kept["plain"]]}))
        world.add("grid_area", grid["id"], area)
        visit = await ok(await mon.post("/api/v1/visits", headers=COUNTY, json={
            "household_id": kept["mon"], "visited_on": TODAY.isoformat(), "visitor_name": "走访人",
            "leaflet_explained": True, "risk_found": False}))
        world.add("visit", visit["id"], area, kept["mon"])
        await ok(await mon.put(f"/api/v1/income/households/{kept['mon']}/months/2024-03",
                               headers=COUNTY,
                               json={"items": [{"source": "工资性收入", "amount_yuan": "300"}]}))
        if area == "B1":
            world.params.update(household_id=kept["mon"], case_id=case["id"],
                                identification_id=ident["id"], warning_id=warning["id"],
                                area_id=grid["id"], visit_id=visit["id"],
                                measure_id=plan["measures"][0]["id"])
    campaign = await ok(await mon.post("/api/v1/campaigns", headers=COUNTY, json={
        "name": "矩阵核实", "start_on": TODAY.isoformat(),
        "due_on": (TODAY + timedelta(days=30)).isoformat()}))
    world.params["campaign_id"] = campaign["id"]
    run = await ok(await mon.post("/api/v1/quality/runs", headers=COUNTY, json={}), 200, 201, 202)
    world.params["run_id"] = run.get("id", NO_OBJECT) if isinstance(run, dict) else NO_OBJECT
    ledger = await ok(await mon.get("/api/v1/income/ledger?year=2024", headers=COUNTY))
    world.ledger = {row["household_id"] for row in ledger}

    # Employment: labourers arrive from monitoring's household events.
    emp = clients["employment"]

    async def labourers():
        r = await emp.get("/api/v1/labourers?limit=500", headers=COUNTY)
        return r.json() if r.status_code == 200 and len(r.json()) >= 8 else None

    by_household = {o.id: o for o in world.objects if o.kind == "household"}
    for labourer in await eventually(labourers, timeout=60):
        home = by_household[labourer["household_id"]]
        area = next(k for k, v in VILLAGES.items() if v == (home.township, home.village))
        world.add("labourer", labourer["id"], area, home.id)
        if area == "B1" and home.attrs["category"] == "监测户":
            world.params["labourer_id"] = labourer["id"]
    for area in ("A1", "B1"):
        township, village = VILLAGES[area]
        post = await ok(await emp.post("/api/v1/posts", headers=COUNTY, json={
            "name": f"{village}保洁员", "township": township, "village": village, "year": 2024,
            "quota": 1, "monthly_subsidy_fen": 50_000}))
        world.add("post", post["id"], area)
        shop = await ok(await emp.post("/api/v1/workshops", headers=COUNTY, json={
            "name": f"{village}加工车间", "township": township, "village": village,
            "operator": "某合作社", "model": "联合体+就业帮扶车间", "management_class": "新建",
            "liaison_name": "覃专员", "pilot": True, "established_on": "2024-03-01"}))
        world.add("workshop", shop["id"], area)
        if area == "B1":
            world.params.update(post_id=post["id"], workshop_id=shop["id"])

    # Industry: a project in each township.
    ind = clients["industry"]
    for area in ("A1", "B1"):
        township, village = VILLAGES[area]
        project = await ok(await ind.post("/api/v1/projects", headers=COUNTY, json={
            "name": f"{village}金桔基地", "year": 2024, "township": township, "village": village,
            "category": "升级", "industry": "金桔", "entity_name": "金桔专业合作社",
            "entity_type": "农民合作社", "linkage_model": "龙头企业+合作社+基地+农户",
            "farmer_linkage": [{"mode": "入股分红", "description": "保底分红", "households": 40,
                                "poverty_households": 25}],
            "funds": [{"source": "中央衔接资金", "amount_fen": 150_000_000}],
            "planned_start": "2024-03-01", "planned_completion": "2024-06-30"}))
        world.add("project", project["id"], area)
        if area == "B1":
            world.params["project_id"] = project["id"]

    # Notifications: the case.opened reminders of the other township's government.
    notes = clients["notifications"]

    async def reminders():
        r = await notes.get(f"/api/v1/inbox?unit=township.{B}", headers=COUNTY)
        return r.json() if r.status_code == 200 and len(r.json()) >= 2 else None

    for reminder in await eventually(reminders, timeout=60):
        area = "B1" if reminder.get("village") != VILLAGES["B2"][1] else "B2"
        world.add("reminder", reminder["id"], area)
        world.params.setdefault("reminder_id", reminder["id"])
    world.params.update(township=B, village=VILLAGES["B1"][1], period="2024-03", year=2024,
                        quarter=1, flag="建而不成", dead_letter_id=1)


# -- requests from the OpenAPI ----------------------------------------------------------------

def path_value(name: str, path: str, world: World) -> Any:
    if name == "code":
        if "/directory/" in path:
            return f"township.{B}"
        if "/items/" in path:
            return "income"
        return "grain_area"
    if name == "project_id" and "/work-relief/" in path:
        return NO_OBJECT
    return world.params.get(name, NO_OBJECT)


class Schemas:
    def __init__(self, spec: dict, world: World):
        self.components = spec.get("components", {}).get("schemas", {})
        self.world = world

    def resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def example(self, schema: dict, name: str = "", depth: int = 0) -> Any:
        """A value for a schema that names the other area wherever a field can."""
        schema = self.resolve(schema)
        params = self.world.params
        if name in ("township", "village", "household_id", "case_id", "labourer_id",
                    "identification_id", "warning_id", "project_id", "post_id", "workshop_id"):
            return params.get(name, NO_OBJECT)
        if name == "household_ids":
            return [params["household_id"]]
        if name == "townships":
            return [B]
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [s for s in schema[key] if self.resolve(s).get("type") != "null"]
                return self.example(options[0], name, depth) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            if depth > 4:
                return {}
            props = schema.get("properties", {})
            wanted = set(schema.get("required", [])) | {
                p for p in props if p in ("township", "village", "household_id")}
            return {p: self.example(props[p], p, depth + 1) for p in props if p in wanted}
        if kind == "array":
            count = max(schema.get("minItems", 1), 1)
            return [self.example(schema.get("items", {}), "", depth + 1) for _ in range(count)]
        if kind == "integer":
            return max(schema.get("minimum", 1), 1)
        if kind == "number":
            return max(schema.get("minimum", 1), 1)
        if kind == "boolean":
            return True
        fmt = schema.get("format")
        if fmt == "date":
            return TODAY.isoformat()
        if fmt == "date-time":
            return datetime(2024, 4, 10, 8, tzinfo=UTC).isoformat()
        if "period" in name:
            return "2024-03"
        return "矩阵"


@dataclass
class Operation:
    service: str
    method: str
    path: str
    spec: dict

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security"))

    @property
    def writes(self) -> bool:
        return self.method != "get"


def operations(service: str, spec: dict) -> list[Operation]:
    return [Operation(service, method, path, op) for path, methods in spec["paths"].items()
            for method, op in methods.items()]


def build(op: Operation, schemas: Schemas, with_filters: bool) -> dict:
    path = op.path
    query: dict[str, Any] = {}
    path_values: list[str] = []
    for p in op.spec.get("parameters", []):
        if p["in"] == "path":
            value = str(path_value(p["name"], op.path, schemas.world))
            path_values.append(value)
            path = path.replace("{" + p["name"] + "}", value)
        elif p["in"] == "query" and (p.get("required") or with_filters):
            if p["name"] in ("limit", "offset", "format", "cursor"):
                continue
            value = path_value(p["name"], op.path, schemas.world)
            query[p["name"]] = value if value != NO_OBJECT else schemas.example(
                p.get("schema", {}), p["name"])
    request: dict[str, Any] = {"url": path, "params": query, "_path_values": path_values}
    body = op.spec.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        request["json"] = schemas.example(body["application/json"]["schema"])
    elif body:
        request["files"] = {"file": ("矩阵.csv", "户主,身份证号\n".encode(), "text/csv")}
    return request


def body_text(response) -> str:
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        wb = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                         for c in row if c is not None)
    return response.content.decode("utf-8", errors="replace")


_TABLES: dict[int, list[str]] = {}


async def fingerprint(app) -> str:
    """Every row of the service's own tables (not its infrastructure tables)."""
    async with app.state.db.session() as session:
        if id(app) not in _TABLES:
            conn = await session.connection()
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
            _TABLES[id(app)] = sorted(set(names) - UNWATCHED)
        out = []
        for name in _TABLES[id(app)]:
            rows = (await session.execute(text(f'SELECT * FROM "{name}"'))).all()
            out.append(f"{name}:{sorted(json.dumps(list(r), default=str) for r in rows)}")
        return "\n".join(out)


async def settled(apps: dict) -> dict[str, str]:
    """Every service's fingerprint once two readings a second apart agree."""
    previous: dict[str, str] = {}
    for _ in range(60):
        now = {name: await fingerprint(app) for name, app in apps.items()}
        if now == previous:
            return now
        previous = now
        await asyncio.sleep(1)
    raise AssertionError("the services kept changing after the seed")


# -- the matrix ---------------------------------------------------------------------------------

@pytest.mark.timeout(1200)
async def test_scope_matrix(database, private_nats):
    """(A private nats-server: the seed's events must not reach later tests' consumers.)"""
    county = load_county(COUNTY_CONFIG)
    clock = SettableClock()
    clock.set_today(TODAY)
    factories = {"monitoring": (monitoring_app, MonitoringSettings),
                 "employment": (employment_app, EmploymentSettings),
                 "industry": (industry_app, IndustrySettings),
                 "notifications": (notifications_app, NotificationsSettings)}
    apps = {name: make(settings_for(cls, database, private_nats.url), clock)
            for name, (make, cls) in factories.items()}
    world = World()
    problems: list[str] = []
    calls = 0
    write_statuses: Counter[int] = Counter()
    async with AsyncExitStack() as stack:
        clients = {name: await stack.enter_async_context(running(app))
                   for name, app in apps.items()}
        await seed(clients, world)
        # Each service's rows as last seen, once the seed's events are all consumed: a refused
        # write must leave them as they were.
        last = await settled(apps)
        everyone = callers(county)
        ops = [op for name, app in apps.items() for op in operations(name, app.openapi())]
        for op in ops:
            client, app = clients[op.service], apps[op.service]
            schemas = Schemas(app.openapi(), world)
            for caller in everyone:
                if caller.kind == "all" and op.writes:
                    continue  # the whole county is theirs: no write of theirs is out of scope
                markers = foreign_markers(county, caller, op.service, world)
                variants = (False, True) if not op.writes else (True,)
                for with_filters in variants:
                    request = build(op, schemas, with_filters)
                    path_values = request.pop("_path_values")
                    r = await client.request(op.method.upper(), headers=caller.headers,
                                             **request)
                    calls += 1
                    where = f"{caller.name} {op.service} {op.method.upper()} {request['url']} " \
                            f"{request['params'] or ''} → {r.status_code}"
                    if r.status_code >= 500:
                        problems.append(f"server error: {where}: {r.text[:200]}")
                        continue
                    if caller.kind == "refused" and op.path not in PUBLIC and r.status_code < 400:
                        problems.append(f"answered without a valid token: {where}")
                    if r.status_code < 300 and out_of_scope_write(
                            county, caller, op, request, path_values, markers):
                        problems.append(f"out-of-scope write accepted: {where}")
                    if op.writes and caller.kind != "all":
                        write_statuses[r.status_code] += 1
                    if op.writes:
                        now = await fingerprint(app)
                        if r.status_code >= 300 and now != last[op.service]:
                            changed = sorted(set(now.split("\n")) ^ set(
                                last[op.service].split("\n")))
                            problems.append(f"refused write changed rows: {where}: "
                                            f"{[c[:300] for c in changed]}")
                        last[op.service] = now
                        if r.status_code < 300:
                            # An accepted write's events reach the other services later.
                            last = await settled(apps)
                    if r.status_code < 300 and markers:
                        shown = body_text(r)
                        leaked = sorted(m for m in markers if m in shown)
                        if leaked:
                            problems.append(f"out of scope in the answer: {where}: "
                                            f"{[world.describe(m) for m in leaked[:3]]}")
    print(f"\nscope matrix: {len(ops)} operations × {len(everyone)} callers "
          f"({calls} requests), {len(world.objects)} seeded objects, "
          f"{len(problems)} problems; writes of scoped callers by status: "
          f"{dict(sorted(write_statuses.items()))}")
    assert not problems, "\n".join(problems[:80])


def out_of_scope_write(county, caller: Caller, op: Operation, request: dict,
                       path_values: list[str], markers: set[str]) -> bool:
    """A write that names what the caller does not reach (in its path or its body)."""
    if not op.writes or caller.kind == "all" or reaches_all(county, caller, op.service):
        return False
    return (caller.kind == "refused" or _names_other_area(request)
            or any(v in markers for v in path_values))


def _names_other_area(request: dict) -> bool:
    payload = json.dumps(request.get("json"), ensure_ascii=False) + json.dumps(
        request["params"], ensure_ascii=False, default=str)
    return bool(re.search(B, payload)) or VILLAGES["B1"][1] in payload
