"""The project library applied to the database. Never commits (the scanner's unit of work and
the request's do)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit, outbox, revisions
from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.deadlines import meet_deadline, open_deadline
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_common.ids import new_id
from fangpin_common.periodic import every
from fangpin_common.tables import DEADLINES
from fangpin_industry.access import ensure_reach, sees_all
from fangpin_industry.config import IndustryConfig
from fangpin_industry.projects import rules
from fangpin_industry.projects.events import (
    asset_registered,
    flag_cleared,
    project_admitted,
    project_flagged,
)
from fangpin_industry.projects.models import (
    AssetCreate,
    AssetRead,
    FlagClear,
    FlagCreate,
    FlagRead,
    LibraryFigures,
    Project,
    ProjectAsset,
    ProjectCreate,
    ProjectFlag,
    ProjectRead,
    ProjectUpdate,
)
from fangpin_industry.specialties.service import resolve_township
from fangpin_industry.sql import insert_if_absent
from fangpin_industry.targets.rules import percent_of

log = logging.getLogger(__name__)
SCANNER = "system:project-scanner"


def policy(config: IndustryConfig) -> rules.FlagPolicy:
    p = config.projects
    return rules.FlagPolicy(grace_days=p.grace_days_after_planned_completion,
                            idle_days=p.idle_days_after_completion,
                            min_linked_share_percent=p.min_linked_share_percent)


def facts(p: Project | dict) -> rules.ProjectFacts:
    d = p if isinstance(p, dict) else p.model_dump()
    return rules.ProjectFacts(
        status=d["status"], planned_completion=d["planned_completion"],
        completed_on=d["completed_on"], in_use_on=d["in_use_on"],
        linked_households_planned=rules.planned_households(d["farmer_linkage"]),
        linked_households_actual=d["linked_households_actual"])


def _raise_first(problems: list[rules.Problem], code: str) -> None:
    for field, message in problems:
        raise DomainError(field, message, code)


def _check_unit(county: County, code: str) -> None:
    if county.unit(code) is None:
        raise DomainError("responsible_unit", f"县配置中没有单位 {code}", "unknown_unit")


def _check_description(values: dict) -> None:
    """The linkage, model and plan dates a library project must always have."""
    _raise_first(rules.linkage_problems(values["farmer_linkage"]), "linkage_required")
    if problem := rules.linkage_model_problem(values["linkage_model"]):
        raise DomainError("linkage_model", problem, "invalid_linkage_model")
    if problem := rules.planned_dates_problem(values["planned_start"],
                                              values["planned_completion"]):
        raise DomainError("planned_completion", problem, "invalid_dates")


# -- the library -------------------------------------------------------------------------------
async def create_project(session: AsyncSession, data: ProjectCreate, principal: Principal,
                         county: County, config: IndustryConfig, clock: Clock) -> Project:
    township = resolve_township(county, data.township)
    ensure_reach(principal, config, township, data.village)
    values = data.model_dump()
    _check_description(values)
    responsible = data.responsible_unit or config.projects.lead
    _check_unit(county, responsible)
    now = clock.now()
    project = Project(**(values | {
        "id": new_id(), "township": township, "responsible_unit": responsible,
        "linkage_model": rules.normalise_model(data.linkage_model),
        "total_fen": rules.total_fen(values["funds"]), "created_by": principal.sub,
        "created_at": now, "updated_at": now}))
    await audit.added(session, principal, project, entity_type="project", action="admit", now=now)
    await outbox.emit(session, project_admitted(project, now))
    return project


# How a 412 names what another person changed.
FIELD_LABELS = {"name": "项目名称", "village": "村", "category": "项目类别", "industry": "产业",
                "entity_name": "经营主体", "entity_type": "主体类型",
                "linkage_model": "联农带农模式", "farmer_linkage": "联农带农方式",
                "funds": "资金构成", "total_fen": "资金合计", "planned_start": "计划开工日期",
                "planned_completion": "计划完工日期", "status": "项目状态",
                "completed_on": "完工日期", "in_use_on": "投入使用日期",
                "disbursed_fen": "已拨付金额", "linked_households_actual": "实际带动户数",
                "responsible_unit": "责任单位"}


async def update_project(session: AsyncSession, project_id: str, data: ProjectUpdate,
                         principal: Principal, county: County, config: IndustryConfig,
                         clock: Clock, expected: int) -> Project:
    """Changes based on revision `expected`: 412 if the project changed since (no lost
    update, fangpin_common.revisions)."""
    project = await get_project(session, project_id, principal, config)
    await revisions.claim(session, Project, project_id, expected, label="项目",
                          audit=("project", project_id), labels=FIELD_LABELS)
    await session.refresh(project)
    changes = data.model_dump(exclude_unset=True, exclude={"revision"})
    for field in ("name", "category", "entity_name", "entity_type", "linkage_model",
                  "farmer_linkage", "funds", "planned_completion", "status"):
        if field in changes and changes[field] is None:
            if field == "farmer_linkage":
                changes[field] = []  # refused below with the linkage rule's own words
            else:
                raise DomainError(field, "此项不能清空", "required")
    before = project.model_dump(mode="json") | {"revision": expected}
    after = project.model_dump() | changes
    _check_description(after)
    _raise_first(rules.status_problems(facts(project), facts(after), clock.today()),
                 "invalid_status")
    total = rules.total_fen(after["funds"])
    if after["disbursed_fen"] > total:
        raise DomainError("disbursed_fen", f"已拨付 {after['disbursed_fen']} 分超过项目资金合计 "
                          f"{total} 分", "over_disbursed")
    if "responsible_unit" in changes:
        _check_unit(county, after["responsible_unit"])
    if "village" in changes:
        ensure_reach(principal, config, project.township, after["village"])
    for field, value in changes.items():
        setattr(project, field, value)
    project.linkage_model = rules.normalise_model(project.linkage_model)
    project.total_fen = total
    project.updated_at = clock.now()
    session.add(project)
    await session.flush()
    await audit.record(session, principal, entity_type="project", entity_id=project.id,
                       action="update", before=before, after=project.model_dump(mode="json"),
                       now=project.updated_at)
    return project


async def get_project(session: AsyncSession, project_id: str, principal: Principal,
                      config: IndustryConfig) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound(f"项目库中没有项目 {project_id}")
    ensure_reach(principal, config, project.township, project.village)
    return project


async def list_projects(session: AsyncSession, principal: Principal, config: IndustryConfig,
                        township: str | None, status: str | None, flag: str | None,
                        limit: int, offset: int) -> list[Project]:
    query = select(Project).order_by(Project.created_at, Project.id)
    if not sees_all(principal, config):
        query = query.where(Project.township == principal.township)
        if principal.role == "village":
            query = query.where(Project.village == principal.village)
    if township:
        query = query.where(Project.township == township)
    if status:
        query = query.where(Project.status == status)
    if flag:
        query = query.where(Project.id.in_(select(ProjectFlag.project_id).where(
            ProjectFlag.flag == flag, ProjectFlag.active.is_(True))))
    return list((await session.exec(query.limit(limit).offset(offset))).all())


async def read_project(session: AsyncSession, project: Project) -> ProjectRead:
    flags = (await session.exec(select(ProjectFlag).where(ProjectFlag.project_id == project.id)
                                .order_by(ProjectFlag.raised_at))).all()
    states = dict((await session.execute(sa_select(DEADLINES.c.subject_id, DEADLINES.c.state)
                                         .where(DEADLINES.c.subject_id.in_([f.id for f in flags]),
                                                DEADLINES.c.kind == rules.FIX_DEADLINE))).all())
    assets = (await session.exec(select(ProjectAsset).where(ProjectAsset.project_id == project.id)
                                 .order_by(ProjectAsset.registered_on))).all()
    return ProjectRead(
        **project.model_dump(),
        flags=[FlagRead(**(f.model_dump() | {"active": bool(f.active)}),
                        fix_state=states.get(f.id)) for f in flags],
        assets=[AssetRead(**a.model_dump()) for a in assets])


async def library_summary(session: AsyncSession, principal: Principal, county: County,
                          config: IndustryConfig, year: int | None) -> list[LibraryFigures]:
    """Per township and in total: projects, funds and their disbursement, farmers linked,
    open problem flags and assets handed to the collectives (I3 fund performance)."""
    query = select(Project)
    if year is not None:
        query = query.where(Project.year == year)
    tallies: dict[str, rules.LibraryTally] = {}
    where: dict[str, str] = {}
    for p in (await session.exec(query)).all():
        tallies.setdefault(p.township, rules.LibraryTally()).add_project(
            p.status, p.total_fen, p.disbursed_fen, p.farmer_linkage, p.linked_households_actual)
        where[p.id] = p.township
    for project_id, flag in (await session.execute(
            sa_select(ProjectFlag.project_id, ProjectFlag.flag)
            .where(ProjectFlag.active.is_(True)))).all():
        if project_id in where:
            tallies[where[project_id]].open_flags[flag] += 1
    for project_id, value in (await session.execute(
            sa_select(ProjectAsset.project_id, ProjectAsset.value_fen))).all():
        if project_id in where:
            tallies[where[project_id]].assets_fen += value
    shown = [t for t in county.townships
             if sees_all(principal, config) or t.code == principal.township]
    total = rules.LibraryTally()
    rows = []
    for t in shown:
        tally = tallies.get(t.code, rules.LibraryTally())
        total.add(tally)
        rows.append(_library_figures(t.code, t.name, tally))
    return [*rows, _library_figures("", "合计", total)]


def _library_figures(code: str, name: str, t: rules.LibraryTally) -> LibraryFigures:
    return LibraryFigures(
        township=code, township_name=name, projects=t.projects, by_status=t.by_status,
        total_fen=t.total_fen, disbursed_fen=t.disbursed_fen,
        disbursed_percent=percent_of(Decimal(t.disbursed_fen), Decimal(t.total_fen)),
        linked_households_planned=t.linked_households_planned,
        linked_poverty_households_planned=t.linked_poverty_households_planned,
        linked_households_actual=t.linked_households_actual, open_flags=t.open_flags,
        assets_fen=t.assets_fen)


# -- problem flags -----------------------------------------------------------------------------
async def raise_flag(session: AsyncSession, project: Project, flag: str, source: str,
                     reason: str, actor: str, county: County, clock: Clock) -> ProjectFlag | None:
    """Open the flag unless it is already open. The insert is the atomic claim: of two
    writers (two scanners, a scanner and a person) exactly one inserts, and only that one
    opens the fix deadline and queues the event, in the same transaction."""
    today, now = clock.today(), clock.now()
    rule = county.deadline_rule(rules.FIX_DEADLINE, rules.DEFAULT_FIX_DAYS,
                                rules.DEFAULT_FIX_WARN_DAYS)
    row = ProjectFlag(id=new_id(), project_id=project.id, flag=flag, active=True,
                      source=source, reason=reason[:300], raised_on=today, raised_by=actor,
                      raised_at=now, fix_due_on=rule.due_on(today), announced_at=now)
    if not await insert_if_absent(session, ProjectFlag.__table__, row.model_dump(),
                                  ("project_id", "flag", "active")):
        return None
    await open_deadline(
        session, rule, subject_type="project_flag", subject_id=row.id, started_on=today,
        now=now, township=project.township, village=project.village, due_on=row.fix_due_on,
        context={"project_id": project.id, "project_name": project.name, "flag": flag,
                 "responsible_unit": project.responsible_unit})
    await outbox.emit(session, project_flagged(project, row, now))
    return row


async def staff_flag(session: AsyncSession, project_id: str, data: FlagCreate,
                     principal: Principal, county: County, config: IndustryConfig,
                     clock: Clock) -> ProjectFlag:
    project = await get_project(session, project_id, principal, config)
    row = await raise_flag(session, project, data.flag, "staff", data.reason, principal.sub,
                           county, clock)
    if row is None:
        raise Conflict(f"项目 {project.id} 已有未消除的“{data.flag}”问题标记")
    await audit.record(session, principal, entity_type="project", entity_id=project.id,
                       action="flag", before=None, after=row.model_dump(mode="json"),
                       now=clock.now())
    return row


async def clear_flag(session: AsyncSession, project_id: str, flag: str, data: FlagClear,
                     principal: Principal, config: IndustryConfig, clock: Clock) -> ProjectFlag:
    project = await get_project(session, project_id, principal, config)
    today, now = clock.today(), clock.now()
    # A flag the project's own figures still show cannot be cleared by saying so.
    still = rules.derived_flags(facts(project), today, policy(config)).get(flag)
    if still:
        raise DomainError("flag", f"问题仍然存在，不能消除“{flag}”标记：{still}",
                          "problem_persists", location="path")
    cleared = (await session.execute(
        update(ProjectFlag.__table__)
        .where(ProjectFlag.project_id == project.id, ProjectFlag.flag == flag,
               ProjectFlag.active.is_(True))
        .values(active=None, cleared_on=today, cleared_by=principal.sub, cleared_at=now,
                clear_reason=data.reason)
        .returning(ProjectFlag.id))).first()
    if cleared is None:
        raise Conflict(f"项目 {project.id} 没有未消除的“{flag}”问题标记")
    row = await session.get(ProjectFlag, cleared.id, populate_existing=True)
    await meet_deadline(session, rules.FIX_DEADLINE, row.id, today)
    await audit.record(session, principal, entity_type="project", entity_id=project.id,
                       action="clear_flag", before=None, after=row.model_dump(mode="json"),
                       now=now)
    await outbox.emit(session, flag_cleared(project, row, now))
    return row


async def scan_flags(session: AsyncSession, county: County, config: IndustryConfig,
                     clock: Clock) -> list[ProjectFlag]:
    """Derive 建而不成 / 成而不用 / 用而不好 from the projects' dates and figures."""
    today = clock.today()
    pol = policy(config)
    p = Project
    candidates = select(p).where(or_(
        and_(p.status.in_(("未开工", "在建")),
             p.planned_completion < today - timedelta(days=pol.grace_days)),
        and_(p.status == "已完工", p.completed_on < today - timedelta(days=pol.idle_days)),
        and_(p.status == "已投用", p.linked_households_actual.is_not(None)),
    )).order_by(p.id)  # one order for every scanner: no lock cycles between replicas
    open_flags = set((await session.execute(
        sa_select(ProjectFlag.project_id, ProjectFlag.flag)
        .where(ProjectFlag.active.is_(True)))).all())
    raised: list[ProjectFlag] = []
    for project in (await session.exec(candidates)).all():
        for flag, reason in rules.derived_flags(facts(project), today, pol).items():
            if (project.id, flag) in open_flags:
                continue
            row = await raise_flag(session, project, flag, "scanner", reason, SCANNER, county,
                                   clock)
            if row is not None:
                raised.append(row)
    return raised


async def run_scanner(ctx, config: IndustryConfig) -> None:
    """The background loop: one scan per interval, each in its own transaction."""
    async def one_scan() -> None:
        async with ctx.db.unit_of_work() as session:
            raised = await scan_flags(session, ctx.county, config, ctx.clock)
        if raised:
            log.info("project flags raised", extra={"fields": {"count": len(raised)}})

    await every(getattr(ctx.settings, "flag_scan_interval_seconds", 3600.0), one_scan,
                "project flag scan")


# -- assets ------------------------------------------------------------------------------------
async def register_asset(session: AsyncSession, project_id: str, data: AssetCreate,
                         principal: Principal, config: IndustryConfig,
                         clock: Clock) -> ProjectAsset:
    project = await get_project(session, project_id, principal, config)
    if project.status not in ("已完工", "已投用"):
        raise Conflict(f"项目状态为“{project.status}”，完工后才能登记为村集体资产")
    today = clock.today()
    if data.registered_on > today:
        raise DomainError("registered_on", f"登记日期 {data.registered_on} 晚于今天（{today}）",
                          "invalid_date")
    if project.completed_on and data.registered_on < project.completed_on:
        raise DomainError("registered_on", f"登记日期 {data.registered_on} 早于完工日期 "
                          f"{project.completed_on}", "invalid_date")
    now = clock.now()
    asset = ProjectAsset(id=new_id(), project_id=project.id, recorded_by=principal.sub,
                         created_at=now, **(data.model_dump() | {
                             "owner_village": data.owner_village or project.village}))
    session.add(asset)
    await session.flush()
    await audit.record(session, principal, entity_type="project", entity_id=project.id,
                       action="register_asset", before=None,
                       after=asset.model_dump(mode="json"), now=now)
    await outbox.emit(session, asset_registered(project, asset, now))
    return asset
