"""A household's page from the monitoring service: members, cases, visits, warnings and the
procedures, merged into one timeline."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from fangpin_console.api import Api, ApiError

# The monitoring service's lists (it has no search by name or number): the page filters them.
SEARCH_LIMIT = 500
CATEGORIES = ("脱贫户", "监测户", "一般农户")
SUBCATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
RISK_TYPES = ("因病", "因残", "因学", "因灾", "因意外事故", "因产业项目失败", "因务工就业不稳",
              "缺劳动力", "住房安全", "饮水安全", "其他")
LABOUR = ("普通劳动力", "弱劳力", "半劳力", "无劳动力")
RELATIONS = ("户主", "配偶", "之子", "之女", "儿媳", "女婿", "孙子", "孙女", "父亲", "母亲",
             "兄弟姐妹", "祖父母", "其他")
HEALTH = ("健康", "长期慢性病", "患有大病", "残疾")
VISITOR_ROLES = ("网格员", "帮扶联系人", "驻村第一书记", "驻村工作队员", "村干部")
CASE_STATUS = {"open": "监测中", "eliminated": "风险已消除", "closed": "已关闭",
               "withdrawn": "已撤销"}
WARNING_STATUS = {"raised": "待核实", "included": "拟纳入（识别中）", "dismissed": "核实不纳入"}
IDENT_STATUS = {"in_progress": "识别中", "confirmed": "县级已确认", "rejected": "未通过",
                "superseded": "已替代"}


def matches(household: dict[str, Any], q: str) -> bool:
    """Name, resident ID (or its visible digits) or phone."""
    q = q.strip().upper()
    if not q:
        return True
    texts = [household["head_name"], household.get("phone") or "",
             household.get("address") or ""]
    for m in household["members"]:
        texts += [m["name"], (m.get("id_number") or "").upper(), m.get("phone") or ""]
    return any(q in t for t in texts if t)


async def search(api: Api, q: str, village: str | None) -> tuple[list[dict], bool]:
    found = await api.get("monitoring", "/api/v1/households", village=village,
                          limit=SEARCH_LIMIT)
    return [h for h in found if matches(h, q)], len(found) >= SEARCH_LIMIT


@dataclass
class Event:
    on: str
    what: str
    detail: str
    link: str | None = None


async def _optional(call) -> list[dict]:
    """A list the person's role may not read (403) is simply not shown."""
    try:
        return await call
    except ApiError as exc:
        if exc.status == 403:
            return []
        raise


async def page(api: Api, household_id: str) -> dict[str, Any]:
    household = await api.get("monitoring", f"/api/v1/households/{household_id}")
    visits, cases, warnings, idents = await asyncio.gather(
        _optional(api.get("monitoring", "/api/v1/visits", household_id=household_id,
                          limit=100)),
        _optional(api.get("monitoring", "/api/v1/cases", limit=500)),
        _optional(api.get("monitoring", "/api/v1/warnings", township=household["township"],
                          village=household["village"], limit=1000)),
        _optional(api.get("monitoring", "/api/v1/identifications",
                          township=household["township"], limit=500)),
    )
    cases = [c for c in cases if c["household_id"] == household_id]
    warnings = [w for w in warnings if w["household_id"] == household_id]
    idents = [i for i in idents if i["household_id"] == household_id]
    # The cases list has no household filter and stops at 500: a case this household's
    # identification opened is read directly, however many cases the area has.
    known = {c["id"] for c in cases}
    cases += [c for c in await asyncio.gather(*(
        api.get("monitoring", f"/api/v1/cases/{i['case_id']}") for i in idents
        if i.get("case_id") and i["case_id"] not in known))]
    timeline = [Event(v["visited_on"], "走访", f"{v['visitor_name']}"
                      + ("，发现风险：" + "、".join(v["risk_types"]) if v["risk_found"]
                         else "，未发现风险")) for v in visits]
    timeline += [Event(w["raised_on"], "风险预警", f"{w['risk_type']}：{w['reason']}（"
                       f"{WARNING_STATUS.get(w['status'], w['status'])}）",
                       f"/warnings/{w['id']}") for w in warnings]
    for i in idents:
        timeline.append(Event(i["started_on"], "开始识别纳入", "、".join(i["risk_types"]),
                              f"/identifications/{i['id']}"))
        timeline += [Event(s["done_on"], "识别步骤", f"{s['step_name']}："
                           + ("通过" if s["outcome"] == "pass" else "不通过"),
                           f"/identifications/{i['id']}") for s in i.get("steps", [])]
    timeline += [Event(c["inclusion_date"], "纳入监测", f"{c['category']}，"
                       + "、".join(c["risk_types"]), f"/cases/{c['id']}") for c in cases]
    for c in cases:
        timeline += [Event(h["assigned_on"], "安排帮扶责任人", h["name"], f"/cases/{c['id']}")
                     for h in c["helpers"]]
    # Newest first; within a day, the later step of the story first (they were added in order).
    timeline = [e for _, e in sorted(enumerate(timeline), key=lambda p: (p[1].on, p[0]),
                                     reverse=True)]
    return {"household": household, "visits": visits, "cases": cases, "warnings": warnings,
            "identifications": idents, "timeline": timeline}
