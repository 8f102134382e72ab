"""Pure rules of the project library: farmer linkage, status, problem flags (I3, I4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from fangpin_industry.vocabulary import FLAG_KINDS, LINKAGE_MODEL_PARTS, PROJECT_STATUSES

FIX_DEADLINE = "project.flag_fix"  # a flagged project is rectified within N days
DEFAULT_FIX_DAYS = 30
DEFAULT_FIX_WARN_DAYS = 7
BUILT_NOT_FINISHED, FINISHED_NOT_USED, USED_BADLY = "建而不成", "成而不用", "用而不好"

Problem = tuple[list, str]


def linkage_problems(linkage: Sequence[dict]) -> list[Problem]:
    """I3: farmer linkage is stated before a project enters the library."""
    if not linkage:
        return [(["farmer_linkage"], "项目入库前须明确联农带农方式（基地建设、入股分红、"
                 "帮扶就业、订单销售至少一种），并写明带动农户数")]
    problems: list[Problem] = []
    modes: dict[str, int] = {}
    for i, item in enumerate(linkage):
        if not item["description"].strip():
            problems.append((["farmer_linkage", i, "description"], "请写明联农带农的具体方式"))
        if item["households"] < 1:
            problems.append((["farmer_linkage", i, "households"], "带动农户数至少为1户"))
        if item["poverty_households"] > item["households"]:
            problems.append((["farmer_linkage", i, "poverty_households"],
                             f"带动脱贫户数（{item['poverty_households']}）不能多于带动农户数"
                             f"（{item['households']}）"))
        if item["mode"] in modes:
            problems.append((["farmer_linkage", i, "mode"],
                             f"与第 {modes[item['mode']] + 1} 项联农带农方式重复：{item['mode']}"))
        modes.setdefault(item["mode"], i)
    return problems


def normalise_model(model: str) -> str:
    return "+".join(p.strip() for p in model.replace("＋", "+").split("+"))


def linkage_model_problem(model: str) -> str | None:
    """A linkage model such as 龙头企业+合作社+基地+农户: known parts, ending with the farmers."""
    parts = normalise_model(model).split("+")
    unknown = [p for p in parts if p not in LINKAGE_MODEL_PARTS]
    if unknown:
        return (f"利益联结模式中的“{'、'.join(unknown)}”不是可用的组成部分"
                f"（{'、'.join(LINKAGE_MODEL_PARTS)}）")
    if len(set(parts)) != len(parts):
        return "利益联结模式中有重复的组成部分"
    if parts[-1] != "农户":
        return "利益联结模式须落到农户（如 龙头企业+合作社+基地+农户）"
    if len(parts) < 2:
        return "利益联结模式须写明经营主体与农户的联结（如 合作社+农户）"
    return None


def planned_dates_problem(planned_start: date | None, planned_completion: date) -> str | None:
    if planned_start is not None and planned_completion < planned_start:
        return f"计划完工日期 {planned_completion} 早于计划开工日期 {planned_start}"
    return None


@dataclass(frozen=True)
class ProjectFacts:
    status: str
    planned_completion: date
    completed_on: date | None
    in_use_on: date | None
    linked_households_planned: int
    linked_households_actual: int | None


def status_problems(before: ProjectFacts, after: ProjectFacts, today: date) -> list[Problem]:
    """Status moves forward only, and each stage needs its date."""
    problems: list[Problem] = []
    old, new = PROJECT_STATUSES.index(before.status), PROJECT_STATUSES.index(after.status)
    if new < old:
        problems.append((["status"], f"项目状态不能从“{before.status}”退回“{after.status}”"))
    if new >= PROJECT_STATUSES.index("已完工"):
        if after.completed_on is None:
            problems.append((["completed_on"], f"项目状态为“{after.status}”时须填写完工日期"))
        elif after.completed_on > today:
            problems.append((["completed_on"],
                             f"完工日期 {after.completed_on} 晚于今天（{today}）"))
    elif after.completed_on is not None:
        problems.append((["completed_on"], f"项目状态为“{after.status}”，不能填写完工日期"))
    if new >= PROJECT_STATUSES.index("已投用"):
        if after.in_use_on is None:
            problems.append((["in_use_on"], "项目状态为“已投用”时须填写投入使用日期"))
        elif after.in_use_on > today:
            problems.append((["in_use_on"], f"投入使用日期 {after.in_use_on} 晚于今天（{today}）"))
        elif after.completed_on is not None and after.in_use_on < after.completed_on:
            problems.append((["in_use_on"], f"投入使用日期 {after.in_use_on} 早于完工日期 "
                             f"{after.completed_on}"))
    elif after.in_use_on is not None:
        problems.append((["in_use_on"], f"项目状态为“{after.status}”，不能填写投入使用日期"))
    return problems


@dataclass(frozen=True)
class FlagPolicy:
    grace_days: int = 0  # after the planned completion
    idle_days: int = 90  # after completion
    min_linked_share_percent: Decimal = Decimal(50)


def derived_flags(p: ProjectFacts, today: date, policy: FlagPolicy) -> dict[str, str]:
    """The problem flags the project's dates and figures show on `today`, with the reason."""
    flags: dict[str, str] = {}
    if p.status in ("未开工", "在建") and \
            today > p.planned_completion + timedelta(days=policy.grace_days):
        flags[BUILT_NOT_FINISHED] = (f"计划 {p.planned_completion} 完工，至 {today} 仍"
                                     f"{'未开工' if p.status == '未开工' else '未完工'}")
    if p.status == "已完工" and p.completed_on is not None and \
            today > p.completed_on + timedelta(days=policy.idle_days):
        flags[FINISHED_NOT_USED] = (f"{p.completed_on} 完工，{(today - p.completed_on).days} "
                                    f"天仍未投入使用")
    if p.status == "已投用" and p.linked_households_actual is not None and \
            p.linked_households_planned > 0 and \
            Decimal(p.linked_households_actual) * 100 < \
            Decimal(p.linked_households_planned) * policy.min_linked_share_percent:
        share = policy.min_linked_share_percent
        flags[USED_BADLY] = (f"实际带动农户 {p.linked_households_actual} 户，不足计划 "
                             f"{p.linked_households_planned} 户的 {share}%")
    return flags


def total_fen(funds: Sequence[dict]) -> int:
    return sum(int(f["amount_fen"]) for f in funds)


def planned_households(linkage: Sequence[dict]) -> int:
    """Households the linkage promises: the largest mode's count (one farmer may be reached by
    several modes, so the modes are not added up)."""
    return max((int(item["households"]) for item in linkage), default=0)



@dataclass
class LibraryTally:
    """Fund performance of a set of projects: money in, money out, farmers reached."""

    projects: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PROJECT_STATUSES, 0))
    total_fen: int = 0
    disbursed_fen: int = 0
    linked_households_planned: int = 0
    linked_poverty_households_planned: int = 0
    linked_households_actual: int = 0
    open_flags: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FLAG_KINDS, 0))
    assets_fen: int = 0

    def add_project(self, status: str, total: int, disbursed: int, linkage: Sequence[dict],
                    actual: int | None) -> None:
        self.projects += 1
        self.by_status[status] += 1
        self.total_fen += total
        self.disbursed_fen += disbursed
        self.linked_households_planned += planned_households(linkage)
        self.linked_poverty_households_planned += max(
            (int(item["poverty_households"]) for item in linkage), default=0)
        self.linked_households_actual += actual or 0

    def add(self, other: LibraryTally) -> None:
        for name in ("projects", "total_fen", "disbursed_fen", "linked_households_planned",
                     "linked_poverty_households_planned", "linked_households_actual",
                     "assets_fen"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, value in other.by_status.items():
            self.by_status[key] += value
        for key, value in other.open_flags.items():
            self.open_flags[key] += value
