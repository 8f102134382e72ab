"""Risk assessment and risk elimination (风险消除, M9) as pure functions.

Conditions: monitored for half a year and assessed; per-capita income stably above the line for
half a year; large rigid expenses (illness, schooling) resolved; 两不愁三保障 and drinking water
secure; a household without labour capacity stays monitored after safety-net measures.
Steps: home verification by at least two people → village democratic review → public notice
of 7 days (objections investigated) → township review → county approval.
No quota of eliminations exists: nothing here counts or ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fangpin_common.deadlines import add_months
from fangpin_monitoring.procedure import Procedure, Refusal

STEPS: tuple[str, ...] = ("home_verification", "village_review", "public_notice",
                          "township_review", "county_approval")
STEP_NAMES = {
    "home_verification": "入户核实",
    "village_review": "村级民主评议",
    "public_notice": "公示",
    "township_review": "乡镇审核",
    "county_approval": "县级审定",
}
ROLES = {
    "home_verification": ("village", "township", "county"),
    "village_review": ("village", "township", "county"),
    "public_notice": ("village", "township", "county"),
    "township_review": ("township", "county"),
    "county_approval": ("county",),
}
MIN_VERIFIERS = 2
NOTICE_DAYS = 7
MIN_MONTHS = 6
GUARANTEES = {
    "food_clothing_secure": "不愁吃、不愁穿",
    "compulsory_education_secure": "义务教育有保障",
    "basic_medical_secure": "基本医疗有保障",
    "housing_secure": "住房安全有保障",
    "drinking_water_secure": "饮水安全有保障",
}


@dataclass(frozen=True)
class Assessment:
    assessed_on: date
    conclusion: str
    rigid_expenses_resolved: bool
    guarantees: dict[str, bool]


@dataclass(frozen=True)
class Facts:
    inclusion_date: date
    on: date
    labour_level: str  # full | weak | none (plans.rules.labour_level)
    income_problems: list[str]  # from income.rules.stable_income_problems
    assessment: Assessment | None
    min_months: int = MIN_MONTHS
    extra: dict = field(default_factory=dict)


def assessment_due_on(inclusion: date, months: int = MIN_MONTHS) -> date:
    return add_months(inclusion, months)


def full_months(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def condition_problems(facts: Facts) -> list[Refusal]:
    """Every condition for risk elimination that the household does not meet, in Chinese."""
    problems: list[Refusal] = []
    due = assessment_due_on(facts.inclusion_date, facts.min_months)
    if facts.on < due:
        problems.append(Refusal(
            "months", f"纳入监测未满{facts.min_months}个月（{facts.inclusion_date} 纳入，"
                      f"{due} 满{facts.min_months}个月）", "too_early"))
    a = facts.assessment
    if a is None:
        problems.append(Refusal("assessment", "尚未开展风险评估", "not_assessed"))
    elif a.conclusion != "propose_elimination":
        problems.append(Refusal("assessment", f"{a.assessed_on} 风险评估结论为继续监测帮扶",
                                "assessed_continue"))
    for message in facts.income_problems:
        problems.append(Refusal("income", message, "income_unstable"))
    if a is not None and not a.rigid_expenses_resolved:
        problems.append(Refusal("rigid_expenses",
                                "大病、就学等大额刚性支出问题尚未解决（支出未得到控制）",
                                "rigid_expenses"))
    if a is not None:
        missing = [name for key, name in GUARANTEES.items() if not a.guarantees.get(key)]
        if missing:
            problems.append(Refusal("guarantees",
                                    f"“两不愁三保障”及饮水安全未全部保障：{'、'.join(missing)}",
                                    "guarantees"))
    if facts.labour_level == "none":
        problems.append(Refusal("labour",
                                "家庭无劳动能力，落实兜底保障措施后继续监测，不得风险消除",
                                "no_labour"))
    return problems


PROCEDURE = Procedure(
    name="风险消除程序", steps=STEPS, step_names=STEP_NAMES, roles=ROLES,
    closed_labels={"approved": "已审定消除", "rejected": "已终止"},
    closed_code="elimination_closed")
transition = PROCEDURE.transition


def record_problems(step: str, outcome: str, record: dict, previous_on: date, today: date,
                    min_verifiers: int = MIN_VERIFIERS,
                    notice_days: int = NOTICE_DAYS) -> list[Refusal]:
    problems = PROCEDURE.dated_problems(step, outcome, record, previous_on, today)
    if outcome == "reject":
        return problems
    done_on: date = record["done_on"]
    people = [p for p in record.get("people") or [] if p and p.strip()]
    if step == "home_verification" and len(set(people)) < min_verifiers:
        problems.append(Refusal("people", f"入户核实须由不少于{min_verifiers}人组成的工作组开展"
                                          f"（现填写 {len(set(people))} 人）", "too_few_verifiers"))
    if step == "village_review":
        votes_for, against = record.get("votes_for"), record.get("votes_against") or 0
        if votes_for is None:
            problems.append(Refusal("votes_for", "须填写民主评议赞成票数", "required_to_pass"))
        elif votes_for <= against:
            problems.append(Refusal("votes_for", f"民主评议赞成票（{votes_for}）未超过反对票"
                                                 f"（{against}），应记录为不通过", "votes"))
    if step == "public_notice":
        start, end = record.get("notice_start"), record.get("notice_end")
        if start is None or end is None:
            problems.append(Refusal("notice_start" if start is None else "notice_end",
                                    "须填写公示起止日期", "required_to_pass"))
        else:
            days = (end - start).days + 1
            if start < previous_on:
                problems.append(Refusal("notice_start", f"公示开始日期 {start} "
                                        f"早于村级民主评议日期 {previous_on}", "notice_dates"))
            if days < notice_days:
                problems.append(Refusal("notice_end", f"公示期为 {start} 至 {end} 共{days}天，"
                                                      f"不少于{notice_days}天", "notice_too_short"))
            if end > done_on:
                problems.append(Refusal("notice_end", f"公示到 {end} 才结束，不能在 {done_on} 办结",
                                        "notice_running"))
        for i, objection in enumerate(record.get("objections") or []):
            if not (objection.get("resolution") or "").strip():
                problems.append(Refusal(("objections", i, "resolution"),
                                        f"公示期间的第{i + 1}条异议尚未调查核实处理",
                                        "objection_open"))
    return problems
