"""Helpers of the monitoring tests: files as departments send them, counting what changed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from sqlalchemy import func, select

from fangpin_common.tables import AUDIT_LOG, DEADLINES, OUTBOX
from fangpin_common.testing import auth, token_for
from fangpin_monitoring.warnings.models import DepartmentRow, DepartmentUpload, RiskWarning

from .conftest import resident_id

COUNTY = auth(token_for("county"))
TOWNSHIP = auth(token_for("township", "板榄镇"))
OTHER_TOWNSHIP = auth(token_for("township", "长安镇"))
VILLAGE = auth(token_for("village", "板榄镇", village="板榄村"))
PLATFORM = auth(token_for("platform"))


def department(unit: str) -> dict[str, str]:
    return auth(token_for("department", department=unit))


def person_id(serial: int, born: date = date(1980, 1, 1), male: bool = True) -> str:
    return resident_id("450224", born, serial, male)


def csv_bytes(header: list[str], rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def json_bytes(records: list[dict]) -> bytes:
    return json.dumps(records, ensure_ascii=False).encode()


async def upload(client, kind: str, content: bytes, filename: str = "data.csv",
                 period: str = "2024-03", headers=None, file_format: str | None = None):
    data = {"kind": kind, "period": period}
    if file_format:
        data["format"] = file_format
    return await client.post("/api/v1/warnings/uploads", headers=headers or COUNTY, data=data,
                             files={"file": (filename, content)})


async def count(client, table, *where) -> int:
    async with client.app.state.db.session() as session:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return (await session.execute(query)).scalar_one()


async def state(client) -> dict[str, int]:
    """What a refused request must leave unchanged: rows, deadlines, audit, events."""
    registry = client.app.state.metrics.registry
    published = sum(sample.value for metric in registry.collect()
                    if metric.name == "fangpin_events_published"
                    for sample in metric.samples if sample.name.endswith("_total"))
    return {
        "events": await count(client, OUTBOX) + int(published),
        "audit": await count(client, AUDIT_LOG),
        "deadlines": await count(client, DEADLINES),
        "warnings": await count(client, RiskWarning.__table__),
        "uploads": await count(client, DepartmentUpload.__table__),
        "rows": await count(client, DepartmentRow.__table__),
    }


async def new_household(client, serial: int, township="板榄镇", village="板榄村",
                        labour="普通劳动力", members=None, **extra) -> dict:
    from .conftest import household, member

    body = household(township=township, village=village,
                     members=members or [member(serial=serial, labour=labour)], **extra)
    r = await client.post("/api/v1/households", json=body, headers=COUNTY)
    assert r.status_code == 201, r.text
    return r.json()


def step_body(step: str, day: date, **extra) -> dict:
    """A passing identification step as the responsible level records it."""
    facts = {
        "risk_review": {"people": ["村党组织书记"], "note": "村两委研判存在返贫致贫风险"},
        "home_check": {"people": ["韦核查", "黄核查"], "application_signed": True,
                       "data_query_authorised": True},
        "data_comparison": {"findings": "无财政供养人员、无商品房、无经营实体"},
        "democratic_review": {"votes_for": 11, "votes_against": 1,
                              "notice_start": (day - timedelta(days=4)).isoformat(),
                              "notice_end": day.isoformat()},
        "township_review": {"people": ["乡镇审核人"]},
        "county_confirmation": {"people": ["县乡村振兴局"]},
    }[step]
    return {"step": step, "done_on": day.isoformat(), **facts, **extra}


STEP_HEADERS = {"risk_review": VILLAGE, "home_check": VILLAGE, "data_comparison": COUNTY,
                "democratic_review": VILLAGE, "township_review": TOWNSHIP,
                "county_confirmation": COUNTY}
# Days after the previous step, each within its limit (3, 3, 5, 5, 5, 5).
STEP_GAPS = {"risk_review": 1, "home_check": 2, "data_comparison": 4, "democratic_review": 5,
             "township_review": 2, "county_confirmation": 2}


async def walk_identification(client, clock, ident_id: str, start: date,
                              after_each=None) -> tuple[dict, date]:
    """Record every step in order on time; returns the final read and the inclusion date."""
    day = start
    result = None
    for step in STEP_HEADERS:
        day = day + timedelta(days=STEP_GAPS[step])
        clock.set_today(day)
        r = await client.post(f"/api/v1/identifications/{ident_id}/steps",
                              json=step_body(step, day), headers=STEP_HEADERS[step])
        assert r.status_code == 200, r.text
        result = r.json()
        if after_each is not None:
            await after_each(step)
    return result, day
