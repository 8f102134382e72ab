"""What a clerk reads instead of codes: township names, reminder kinds, states."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from fangpin_common.county import County, load_county

# The thing a reminder is about, by the event type without its due-soon / overdue ending.
KINDS: dict[str, str] = {
    "monitoring.case.helper": "安排帮扶责任人",
    "monitoring.case.plan": "制定帮扶计划",
    "monitoring.case.opened": "新纳入监测",
    "monitoring.case.assessment": "风险评估",
    "monitoring.visit": "走访",
    "monitoring.warning.verification": "预警核实",
    "monitoring.warning.raised": "新预警",
    "monitoring.identification.step": "识别纳入步骤",
    "monitoring.income.collection": "收入采集",
    "monitoring.campaign.township": "“包抓包核包过”核实",
    "monitoring.quality.anomalies_assigned": "数据问题整改",
    "employment.form": "就业情况统计表报送",
    "employment.work_info": "务工信息核实",
    "employment.returnee.assistance": "返乡回流“251”帮扶",
    "employment.worker.returned_home": "返乡回流",
    "industry.project.fix": "项目问题整改",
    "industry.project.flagged": "项目问题",
    "notifications.reminder.escalated": "提醒升级",
}
# Deadline kinds of the county file, as reminders' texts may name them.
DEADLINE_KINDS: dict[str, str] = {
    "case.helper": "安排帮扶责任人", "case.plan": "制定帮扶计划",
    "case.assessment": "风险评估", "employment.work_info": "务工信息核实",
    "employment.form.township": "乡镇报送统计表", "employment.form.county": "县级报送统计表",
    "employment.returnee.assistance": "返乡回流“251”帮扶", "project.flag_fix": "项目问题整改",
    "visit.monthly": "月度走访", "visit.q1": "一季度遍访", "warning.verification": "预警核实",
    "identification.risk_review": "村级风险研判", "identification.home_check": "入户核查",
    "identification.data_comparison": "信息比对", "identification.democratic_review":
    "民主评议和公示", "identification.township_review": "乡镇审核",
    "identification.county_confirmation": "县级确认", "income.collection": "收入采集",
    "campaign.verification": "“包抓包核包过”核实",
}
_CODE = re.compile(r"[a-z_]+(?:\.[a-z_0-9]+)+")
STATES = {"unread": "未读", "read": "已读", "acknowledged": "已确认", "resolved": "已办结"}
_ENDINGS = ("_due_soon", ".due_soon", "_overdue", ".overdue", "_due")
_ID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|"
                 r"[0-9a-f]{24,}", re.I)
# A parenthesis naming internal ids (“（户编号 …）”) says nothing to a clerk.
_ID_PARENS = re.compile(r"（[^（）]*(?:编号|对象)[^（）]*）")


def timing(event_type: str) -> str:
    """overdue / due_soon / other, from the event type."""
    if event_type.endswith(("_overdue", ".overdue")):
        return "overdue"
    if event_type.endswith(("_due_soon", ".due_soon", "_due")):
        return "due_soon"
    return "other"


def kind_of(event_type: str) -> str:
    base = event_type.removeprefix("fangpin.")
    for ending in _ENDINGS:
        if base.endswith(ending):
            base = base[: -len(ending)]
            break
    return base


def kind_name(event_type: str) -> str:
    base = kind_of(event_type)
    while base:
        if base in KINDS:
            return KINDS[base]
        base = base.rpartition(".")[0]
    return "待办事项"


def readable(text: str | None, names: dict[str, str] | None = None) -> str:
    """A reminder's text without internal ids: a known household id becomes its head's name,
    parentheses naming ids go, any other id left is dropped."""
    if not text:
        return ""
    for ident, name in (names or {}).items():
        text = text.replace(f"（户编号 {ident}）", f"（{name}户）").replace(ident, name)
    text = _ID_PARENS.sub("", text)
    text = _CODE.sub(lambda m: DEADLINE_KINDS.get(m.group(0), ""), text)
    return _ID.sub("", text).replace("（）", "")


@lru_cache(maxsize=8)
def _county(path: str) -> County:
    return load_county(Path(path))


def township_name(county_config: Path, code: str | None) -> str:
    if not code:
        return ""
    township = _county(str(county_config)).township(code)
    return township.name if township else code


def townships(county_config: Path) -> list[tuple[str, str]]:
    return [(t.code, t.name) for t in _county(str(county_config)).townships]


def county_name(county_config: Path) -> str:
    return _county(str(county_config)).county.name
