"""Helpers of the import, platform and visit tests (households, files, outbox inspection)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlalchemy import func, select

from fangpin_common.clock import SettableClock
from fangpin_common.tables import AUDIT_LOG, DEADLINES, OUTBOX
from fangpin_common.testing import auth, running, settings_for, token_for
from fangpin_monitoring.imports.rules import COLUMNS
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

from .conftest import resident_id

HEADERS = [c.header for c in COLUMNS]
COUNTY = auth(token_for("county"))
TOWNSHIP = auth(token_for("township", "板榄镇"))
OTHER_TOWNSHIP = auth(token_for("township", "长安镇"))
VILLAGE = auth(token_for("village", "板榄镇", village="板榄村"))
PLATFORM = auth(token_for("platform"))
BANLAN = "450224103"


def quiet_app(database, nats_server, clock: SettableClock, **overrides):
    """The service without relay or daily job: events stay in the outbox to be read."""
    settings = settings_for(MonitoringSettings, database, nats_server.url, run_relay=False,
                            visit_deadlines_job=False, **overrides)
    return create_app(settings, clock)


async def start(app):
    context = running(app)
    client = await context.__aenter__()
    client.app = app
    return context, client


async def count(client, table, *where) -> int:
    async with client.app.state.db.session() as session:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return (await session.execute(query)).scalar_one()


async def events(client, event_type: str | None = None) -> list[dict]:
    """Events waiting in the outbox (the relay is off in these tests), oldest first."""
    async with client.app.state.db.session() as session:
        query = select(OUTBOX.c.event_type, OUTBOX.c.payload).order_by(OUTBOX.c.created_at,
                                                                       OUTBOX.c.id)
        if event_type:
            query = query.where(OUTBOX.c.event_type == event_type)
        return [json.loads(p) for _, p in (await session.execute(query)).all()]


async def state(client) -> tuple[int, ...]:
    """What a refused request must leave as it was."""
    from fangpin_monitoring.changes.models import HouseholdChange
    from fangpin_monitoring.households.models import Household, Member
    from fangpin_monitoring.visits.models import GridArea, GridAreaHousehold, Visit

    tables = [OUTBOX, AUDIT_LOG, DEADLINES, Household.__table__, Member.__table__,
              HouseholdChange.__table__, GridArea.__table__, GridAreaHousehold.__table__,
              Visit.__table__]
    return tuple([await count(client, t) for t in tables])


def person(serial: int, born: date = date(1980, 1, 1), male: bool = True) -> dict:
    return {"id_number": resident_id("450224", born, serial, male),
            "sex": "男" if male else "女", "birth_date": born.isoformat()}


def row(key: str, name: str, serial: int, *, relation: str = "户主", born=date(1980, 1, 1),
        male=True, township="板榄镇", village="板榄村", category="脱贫户", **extra) -> dict:
    """One member row of the import template, by header."""
    p = person(serial, born, male)
    values = {"户编号": key, "乡镇": township, "村（社区）": village, "户类别": category,
              "姓名": name, "身份证号": p["id_number"], "性别": p["sex"],
              "出生日期": p["birth_date"], "与户主关系": relation, "劳动能力": "普通劳动力"}
    return values | extra


def csv_bytes(rows: list[dict], headers=HEADERS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for r in rows:
        writer.writerow([r.get(h, "") for h in headers])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], headers=HEADERS, title: str | None = None) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    if title:  # a title row and a blank row above the header
        sheet.append([title])
        sheet.append([])
    sheet.append(headers)
    for r in rows:
        sheet.append([r.get(h) for h in headers])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def upload(client, content: bytes, filename="households.csv", headers=TOWNSHIP,
                 valid_only=False):
    params = {"valid_only": "true"} if valid_only else {}
    return await client.post("/api/v1/households/import", params=params, headers=headers,
                             files={"file": (filename, content, "application/octet-stream")})
