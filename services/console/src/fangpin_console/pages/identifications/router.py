from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from fangpin_console.api import ApiError
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.households.service import IDENT_STATUS
from fangpin_console.pages.kit import ApiDep, household_label, households_by_id, render
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)

# Which facts each step records beyond date, people, note and outcome (the service's fields).
STEP_FIELDS = {
    "home_check": ("application_signed", "data_query_authorised"),
    "data_comparison": ("findings",),
    "democratic_review": ("votes_for", "votes_against", "notice_start", "notice_end",
                          "objections", "objections_resolved"),
}
NOTICES = {"started": "已核实拟纳入，识别程序已开始。", "step": "步骤已记录。",
           "confirmed": "县级已确认纳入监测，请乡镇在5天内安排帮扶责任人。"}


@router.get("/identifications")
async def identifications(request: Request, api: ApiDep, status: str = "in_progress"):
    found = await api.get("monitoring", "/api/v1/identifications",
                          status=None if status == "all" else status, limit=500)
    households = await households_by_id(api, (i["household_id"] for i in found),
                                        ((i["township"], i["village"]) for i in found))
    rows = [(i, household_label(request, households.get(i["household_id"]))) for i in found]
    return render(request, "identifications/list.html", rows=rows, status=status,
                  statuses=IDENT_STATUS)


async def _page(request: Request, api, ident_id: str, values: dict, errors: dict,
                message: str | None = None, notice: str | None = None, status_code: int = 200):
    ident = await api.get("monitoring", f"/api/v1/identifications/{ident_id}")
    households = await households_by_id(api, [ident["household_id"]])
    defaults = {"done_on": request.app.state.clock.today().isoformat(), "outcome": "pass",
                "notice_start": request.app.state.clock.today().isoformat(),
                "notice_end": request.app.state.clock.today().isoformat()}
    return render(request, "identifications/detail.html", status_code=status_code,
                  ident=ident, household_name=household_label(
                      request, households.get(ident["household_id"])),
                  values=values or defaults, errors=errors, message=message, notice=notice,
                  fields=STEP_FIELDS.get(ident.get("next_step") or "", ()),
                  statuses=IDENT_STATUS)


@router.get("/identifications/{ident_id}")
async def identification(request: Request, api: ApiDep, ident_id: str, done: str = ""):
    return await _page(request, api, ident_id, {}, {}, notice=NOTICES.get(done))


@router.post("/identifications/{ident_id}")
async def record_step(request: Request, api: ApiDep, ident_id: str):
    form = await request.form()
    body = unflatten(form, booleans=("application_signed", "data_query_authorised",
                                     "objections_resolved"))
    # People are typed as one line: "韦春花、蓝建国" or with commas.
    body["people"] = [p for p in
                      str(body.pop("people", "")).replace("，", "、").replace(",", "、").split("、")
                      if p.strip()]
    step = body.get("step")
    for name in ("application_signed", "data_query_authorised", "objections_resolved",
                 "findings", "votes_for", "votes_against", "notice_start", "notice_end",
                 "objections"):
        if name not in STEP_FIELDS.get(step or "", ()):
            body.pop(name, None)  # a field of another step is not this step's fact
    try:
        ident = await api.post("monitoring", f"/api/v1/identifications/{ident_id}/steps",
                               json=body)
    except ApiError as exc:
        if not exc.fields:
            raise
        values = body | {"people": "、".join(body["people"])}
        return await _page(request, api, ident_id, values, exc.fields, exc.message,
                           status_code=422)
    done = "confirmed" if ident.get("case_id") else "step"
    return RedirectResponse(f"/identifications/{ident_id}?done={done}", status_code=303)
