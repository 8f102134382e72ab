from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from fangpin_common import export
from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.types import Offset
from fangpin_monitoring.campaigns import service
from fangpin_monitoring.campaigns.export import progress_workbook
from fangpin_monitoring.campaigns.models import (
    AssignmentCreate,
    AssignmentResult,
    CampaignCreate,
    CampaignRead,
    ChecklistRead,
    ItemMark,
    ProgressReport,
)
from fangpin_monitoring.households.service import resolve_township

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
CountyOnly = Annotated[Principal, Depends(require_roles("county"))]
Township = Annotated[Principal, Depends(require_roles("county", "township"))]
Local = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
State = Literal["unassigned", "assigned", "open", "complete", "incomplete", "signed_off",
                "not_signed_off"]
By = Literal["township", "village"]


@router.post("", status_code=201, response_model=CampaignRead)
async def create_campaign(body: CampaignCreate, session: SessionDep, principal: CountyOnly,
                          county: CountyDep, clock: ClockDep) -> CampaignRead:
    campaign = await service.create_campaign(session, body, principal, county, clock)
    return service.read_campaign(campaign)


@router.get("", response_model=list[CampaignRead])
async def list_campaigns(session: SessionDep, principal: Local) -> list[CampaignRead]:
    return [service.read_campaign(c) for c in await service.list_campaigns(session)]


@router.get("/{campaign_id}", response_model=CampaignRead)
async def get_campaign(campaign_id: str, session: SessionDep, principal: Local) -> CampaignRead:
    return service.read_campaign(await service.get_campaign(session, campaign_id))


@router.get("/{campaign_id}/checklists", response_model=list[ChecklistRead])
async def list_checklists(campaign_id: str, session: SessionDep, principal: Local,
                          county: CountyDep, township: str | None = None,
                          village: str | None = None, state: State | None = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100,
                          offset: Offset = 0) -> list[ChecklistRead]:
    campaign = await service.get_campaign(session, campaign_id)
    code = resolve_township(county, township) if township else None
    rows = await service.list_checklists(session, campaign, principal, code, village, state,
                                         limit, offset)
    return [service.read_checklist(r) for r in rows]


@router.get("/{campaign_id}/checklists/{household_id}", response_model=ChecklistRead)
async def get_checklist(campaign_id: str, household_id: str, session: SessionDep,
                        principal: Local) -> ChecklistRead:
    campaign = await service.get_campaign(session, campaign_id)
    checklist = await service.get_checklist(session, campaign_id, household_id, principal)
    return service.read_checklist(checklist, campaign,
                                  await service.results_of(session, checklist))


@router.post("/{campaign_id}/assignments", response_model=AssignmentResult)
async def assign(campaign_id: str, body: AssignmentCreate, session: SessionDep,
                 principal: Township, clock: ClockDep) -> AssignmentResult:
    campaign = await service.get_campaign(session, campaign_id)
    return AssignmentResult(assigned=await service.assign(session, campaign, body, principal,
                                                          clock))


@router.put("/{campaign_id}/checklists/{household_id}/items/{code}",
            response_model=ChecklistRead)
async def mark_item(campaign_id: str, household_id: str, code: str, body: ItemMark,
                    session: SessionDep, principal: Local, clock: ClockDep) -> ChecklistRead:
    campaign = await service.get_campaign(session, campaign_id)
    return await service.mark_item(session, campaign, household_id, code, body, principal,
                                   clock)


@router.post("/{campaign_id}/checklists/{household_id}/sign-off",
             response_model=ChecklistRead)
async def sign_off(campaign_id: str, household_id: str, session: SessionDep,
                   principal: Township, clock: ClockDep) -> ChecklistRead:
    campaign = await service.get_campaign(session, campaign_id)
    return await service.sign_off(session, campaign, household_id, principal, clock)


@router.get("/{campaign_id}/progress", response_model=ProgressReport)
async def progress(campaign_id: str, session: SessionDep, principal: Local, county: CountyDep,
                   by: By = "township", township: str | None = None) -> ProgressReport:
    campaign = await service.get_campaign(session, campaign_id)
    code = resolve_township(county, township) if township else None
    return await service.progress(session, campaign, principal, county, by, code)


@router.get("/{campaign_id}/progress.xlsx", response_class=Response,
            responses=export.file_responses(export.XLSX))
async def progress_xlsx(campaign_id: str, session: SessionDep, principal: Local,
                        county: CountyDep, by: By = "township",
                        township: str | None = None) -> Response:
    campaign = await service.get_campaign(session, campaign_id)
    code = resolve_township(county, township) if township else None
    report = await service.progress(session, campaign, principal, county, by, code)
    return export.file_response(progress_workbook(report), export.XLSX,
                                f"包抓包核包过进度-{campaign.name}.xlsx")
