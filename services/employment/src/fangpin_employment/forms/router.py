from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from fangpin_common import export
from fangpin_common.county import County
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_employment.deps import SCOPED, CountyStaff, PolicyDep, TownshipOrCounty
from fangpin_employment.forms import rules, service
from fangpin_employment.forms.models import FormData, SubmissionCreate, SubmissionRead

router = APIRouter(prefix="/api/v1/forms", tags=["monthly form"], dependencies=SCOPED)
Format = Literal["json", "xlsx", "csv"]


def render(form: FormData, county: County, fmt: str, filler: str | None,
           contact: str | None) -> FormData | Response:
    form.filler, form.contact = filler, contact
    place = form.township_name or county.county.name
    name = f"{place}{rules.FORM_NAME}_{form.period}"
    if fmt == "csv":
        return export.file_response(export.csv_bytes(form.columns, form.rows), "text/csv",
                                    f"{name}.csv")
    if fmt == "xlsx":
        wb = export.workbook()
        export.add_table_sheet(
            wb, form.period, form.title, form.columns, form.rows,
            footer=(f"{rules.FOOTER[0]}{filler or ''}", "", "", "", "", "",
                    f"{rules.FOOTER[1]}{contact or ''}"),
            widths=[6, 10, 10, 14, 10, 6, 6, 22, 20, 14, 14, 22, 14, 40])
        if form.township is None:
            export.add_table_sheet(wb, "汇总", f"{form.title}（{form.period}汇总）",
                                   ["乡(镇)", "人数"], service.summary(county, form.rows))
        return export.file_response(export.to_bytes(wb), export.XLSX, f"{name}.xlsx")
    return form


@router.get("/{period}/townships/{township}", response_model=None,
            responses=export.file_responses(export.XLSX, export.CSV))
async def township_form(period: str, township: str, session: SessionDep,
                        principal: PrincipalDep, county: CountyDep, policy: PolicyDep,
                        clock: ClockDep, format: Format = "json",
                        filler: Annotated[str | None, Query(max_length=50)] = None,
                        contact: Annotated[str | None, Query(max_length=30)] = None):
    """未转移就业脱贫劳动力就业情况统计表 of one township, generated from the records."""
    form = await service.township_form(session, county, policy, principal, period, township,
                                       clock)
    return render(form, county, format, filler, contact)


@router.get("/{period}/county", response_model=None,
            responses=export.file_responses(export.XLSX, export.CSV))
async def county_form(period: str, session: SessionDep, _: CountyStaff, county: CountyDep,
                      policy: PolicyDep, clock: ClockDep, format: Format = "json",
                      filler: Annotated[str | None, Query(max_length=50)] = None,
                      contact: Annotated[str | None, Query(max_length=30)] = None):
    """The county roll-up the county sends to the city by the 5th."""
    form = await service.county_form(session, county, policy, period, clock)
    return render(form, county, format, filler, contact)


@router.post("/{period}/townships/{township}/submissions", status_code=201,
             response_model=SubmissionRead)
async def submit_township(period: str, township: str, body: SubmissionCreate,
                          session: SessionDep, principal: TownshipOrCounty, county: CountyDep,
                          policy: PolicyDep, clock: ClockDep) -> SubmissionRead:
    row = await service.submit(session, county, policy, principal, period, township, body,
                               clock)
    return SubmissionRead(**row.model_dump())


@router.post("/{period}/county/submissions", status_code=201, response_model=SubmissionRead)
async def submit_county(period: str, body: SubmissionCreate, session: SessionDep,
                        principal: CountyStaff, county: CountyDep, policy: PolicyDep,
                        clock: ClockDep) -> SubmissionRead:
    row = await service.submit(session, county, policy, principal, period, None, body, clock)
    return SubmissionRead(**row.model_dump())


@router.get("/{period}/submissions", response_model=list[SubmissionRead])
async def submissions(period: str, session: SessionDep, principal: PrincipalDep,
                      county: CountyDep, township: str | None = None) -> list[SubmissionRead]:
    """The submission history: every version, in order."""
    rows = await service.submissions(session, principal, county, period, township)
    return [SubmissionRead(**r.model_dump()) for r in rows]


@router.get("/submissions/{submission_id}", response_model=None)
async def submission(submission_id: str, session: SessionDep, principal: PrincipalDep,
                     county: CountyDep, format: Format = "json"):
    """A submitted version exactly as it was submitted."""
    row = await service.get_submission(session, principal, submission_id)
    township = county.township(row.township) if row.township else None
    form = FormData(title=service.title(county), county=county.county.name,
                    township=row.township, township_name=township.name if township else None,
                    period=row.period, as_of=row.as_of, columns=list(rules.COLUMNS),
                    rows=row.rows)
    return render(form, county, format, row.filler, row.contact)
