"""Pure rules of assistance plans (M8): measure kinds and the labour-capacity rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

DEVELOPMENTAL = "developmental"  # 开发式帮扶
SAFETY_NET = "safety_net"  # 兜底保障
OTHER = "other"  # 住房、饮水、医保等保障性措施：不计入两类

# The measure types staff choose from, and which kind each is.
MEASURE_TYPES: dict[str, str] = {
    "产业帮扶": DEVELOPMENTAL,
    "以奖代补": DEVELOPMENTAL,
    "小额信贷": DEVELOPMENTAL,
    "技术培训": DEVELOPMENTAL,
    "技能培训": DEVELOPMENTAL,
    "就业帮扶": DEVELOPMENTAL,
    "公益性岗位": DEVELOPMENTAL,
    "就业帮扶车间": DEVELOPMENTAL,
    "以工代赈": DEVELOPMENTAL,
    "消费帮扶": DEVELOPMENTAL,
    "雨露计划": DEVELOPMENTAL,
    "庭院经济": DEVELOPMENTAL,
    "低保": SAFETY_NET,
    "特困供养": SAFETY_NET,
    "临时救助": SAFETY_NET,
    "医疗救助": SAFETY_NET,
    "慈善救助": SAFETY_NET,
    "残疾人两项补贴": SAFETY_NET,
    "教育资助": OTHER,
    "危房改造": OTHER,
    "饮水安全保障": OTHER,
    "医疗保障": OTHER,
    "其他": OTHER,
}
KIND_NAMES = {DEVELOPMENTAL: "开发式帮扶", SAFETY_NET: "兜底保障", OTHER: "其他保障"}
MEASURE_STATUSES = ("planned", "in_progress", "completed", "cancelled")
ACTIVE = ("planned", "in_progress", "completed")

FULL, WEAK, NONE = "full", "weak", "none"
LABOUR_NAMES = {FULL: "有劳动能力", WEAK: "弱劳力或半劳力", NONE: "无劳动能力"}


def measure_kind(measure_type: str) -> str:
    return MEASURE_TYPES[measure_type]


def labour_level(capacities: Iterable[str]) -> str:
    """Any member with full labour makes a household with labour; else weak/half; else none."""
    values = set(capacities)
    if "普通劳动力" in values:
        return FULL
    if values & {"弱劳力", "半劳力"}:
        return WEAK
    return NONE


@dataclass(frozen=True)
class LabourCheck:
    level: str
    errors: list[str] = field(default_factory=list)  # the plan is wrong
    warnings: list[str] = field(default_factory=list)  # to improve where possible

    @property
    def ok(self) -> bool:
        return not self.errors


def labour_check(level: str, measure_kinds: Iterable[str]) -> LabourCheck:
    """M8: with labour, at least one developmental measure; without, safety-net support;
    weak or half labour: a developmental measure where possible (a warning, not an error)."""
    kinds = set(measure_kinds)
    if level == FULL and DEVELOPMENTAL not in kinds:
        return LabourCheck(level, errors=["家庭有劳动能力，至少应落实一项开发式帮扶措施"
                                          "（产业、就业、培训、小额信贷、以奖代补等）"])
    if level == NONE and SAFETY_NET not in kinds:
        return LabourCheck(level, errors=["家庭无劳动能力，应落实兜底保障措施"
                                          "（低保、特困供养、临时救助、医疗救助、慈善救助等）"])
    if level == WEAK and DEVELOPMENTAL not in kinds:
        return LabourCheck(level, warnings=["家庭为弱劳力或半劳力，应创造条件落实开发式帮扶措施"])
    return LabourCheck(level)


def date_problem(start_on, inclusion, today) -> str | None:
    if start_on > today:
        return f"日期 {start_on} 晚于今天（{today}）"
    if start_on < inclusion:
        return f"日期 {start_on} 早于纳入日期 {inclusion}"
    return None
