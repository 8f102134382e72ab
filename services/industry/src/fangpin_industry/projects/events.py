"""What the projects package emits, and the events of its deadline kind."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.industry import (
    AssetRegisteredData,
    ProjectAdmitted,
    ProjectAdmittedData,
    ProjectAssetRegistered,
    ProjectFixDueSoon,
    ProjectFixOverdue,
    ProjectFlagCleared,
    ProjectFlagClearedData,
    ProjectFlagged,
    ProjectFlaggedData,
)
from fangpin_industry.projects.models import Project, ProjectAsset, ProjectFlag
from fangpin_industry.projects.rules import FIX_DEADLINE

DEADLINE_EVENTS = {
    FIX_DEADLINE: DeadlineEvents(due_soon=ProjectFixDueSoon, overdue=ProjectFixOverdue),
}


def project_admitted(p: Project, now) -> ProjectAdmitted:
    return ProjectAdmitted(subject=p.id, time=now, data=ProjectAdmittedData(
        project_id=p.id, project_name=p.name, township=p.township, village=p.village,
        category=p.category, linkage_modes=[item["mode"] for item in p.farmer_linkage],
        linkage_model=p.linkage_model, total_fen=p.total_fen,
        responsible_unit=p.responsible_unit))


def project_flagged(p: Project, f: ProjectFlag, now) -> ProjectFlagged:
    return ProjectFlagged(subject=p.id, time=now, data=ProjectFlaggedData(
        flag_id=f.id, project_id=p.id, project_name=p.name, township=p.township,
        village=p.village, flag=f.flag, source=f.source, reason=f.reason,
        raised_on=f.raised_on, due_on=f.fix_due_on, responsible_unit=p.responsible_unit))


def flag_cleared(p: Project, f: ProjectFlag, now) -> ProjectFlagCleared:
    return ProjectFlagCleared(subject=p.id, time=now, data=ProjectFlagClearedData(
        flag_id=f.id, project_id=p.id, project_name=p.name, township=p.township,
        village=p.village, flag=f.flag, cleared_on=f.cleared_on,
        late=f.cleared_on > f.fix_due_on, responsible_unit=p.responsible_unit))


def asset_registered(p: Project, a: ProjectAsset, now) -> ProjectAssetRegistered:
    return ProjectAssetRegistered(subject=p.id, time=now, data=AssetRegisteredData(
        asset_id=a.id, project_id=p.id, township=p.township, village=a.owner_village or p.village,
        owner=a.owner, value_fen=a.value_fen, registered_on=a.registered_on))
