"""The identification procedure (识别纳入, M1) as pure functions: steps, order, deadlines, roles.

risk clue → village risk review → home check (3 days; the household signs the application and
the data-query authorisation) → information comparison (5 days) → democratic review and public
notice (5 days) → township review → county confirmation (= the inclusion date).
"""

from __future__ import annotations

from datetime import date

from fangpin_monitoring.procedure import Procedure, Refusal

STEPS: tuple[str, ...] = ("risk_review", "home_check", "data_comparison", "democratic_review",
                          "township_review", "county_confirmation")
STEP_NAMES = {
    "risk_review": "村级风险研判",
    "home_check": "入户核查",
    "data_comparison": "信息比对",
    "democratic_review": "民主评议和公示",
    "township_review": "乡镇审核",
    "county_confirmation": "县级确认",
}
# Days each step has from the previous one (from the start for the first). The plan names 3, 5
# and 5; the other steps' defaults are this county's practice, set in county.yaml.
DEFAULT_DAYS = {"risk_review": 3, "home_check": 3, "data_comparison": 5, "democratic_review": 5,
                "township_review": 5, "county_confirmation": 5}
WARN_DAYS = 1
# Who does each step: county / township / village responsibilities (M1).
ROLES = {
    "risk_review": ("village", "township", "county"),
    "home_check": ("village", "township", "county"),
    "data_comparison": ("county", "township"),
    "democratic_review": ("village", "township", "county"),
    "township_review": ("township", "county"),
    "county_confirmation": ("county",),
}
# What a passing step must state (field, why it is needed).
REQUIRED_TO_PASS: dict[str, tuple[tuple[str, str], ...]] = {
    "home_check": (
        ("people", "入户核查须填写核查人员"),
        ("application_signed", "农户须签字提交申请书"),
        ("data_query_authorised", "农户须签署家庭经济状况信息查询授权书"),
    ),
    "data_comparison": (("findings", "须填写信息比对结果"),),
    "democratic_review": (
        ("votes_for", "须填写民主评议赞成票数"),
        ("notice_start", "须填写公示开始日期"),
        ("notice_end", "须填写公示结束日期"),
    ),
}


def deadline_kind(step: str) -> str:
    return f"identification.{step}"


def step_name(step: str) -> str:
    return STEP_NAMES[step]


PROCEDURE = Procedure(
    name="识别程序", steps=STEPS, step_names=STEP_NAMES, roles=ROLES,
    closed_labels={"confirmed": "已确认纳入", "rejected": "已终止（不予纳入）",
                   "superseded": "已由自治区平台直接纳入"},
    closed_code="identification_closed")
next_step = PROCEDURE.next_step
transition = PROCEDURE.transition


def record_problems(step: str, outcome: str, record: dict, previous_on: date,
                    today: date) -> list[Refusal]:
    """What is wrong with the facts of a step (dates, signatures, the public notice)."""
    problems = PROCEDURE.dated_problems(step, outcome, record, previous_on, today)
    if outcome == "reject":
        return problems
    for field, why in REQUIRED_TO_PASS.get(step, ()):
        value = record.get(field)
        if value in (None, "", [], False):
            problems.append(Refusal(field, why, "required_to_pass"))
    if step == "democratic_review" and not problems:
        done_on: date = record["done_on"]
        start, end = record["notice_start"], record["notice_end"]
        if end < start:
            problems.append(Refusal("notice_end", f"公示结束日期 {end} 早于开始日期 {start}",
                                    "notice_dates"))
        elif end > done_on:
            problems.append(Refusal("notice_end", f"公示到 {end} 才结束，不能在 {done_on} 办结",
                                    "notice_running"))
        if start < previous_on:
            problems.append(Refusal("notice_start", f"公示开始日期 {start} 早于上一步的日期 "
                                                    f"{previous_on}", "notice_dates"))
        against = record.get("votes_against") or 0
        if record["votes_for"] <= against:
            problems.append(Refusal("votes_for", f"民主评议赞成票（{record['votes_for']}）未超过"
                                                 f"反对票（{against}），应记录为不通过", "votes"))
        if record.get("objections") and not record.get("objections_resolved"):
            problems.append(Refusal("objections_resolved", "公示期间有异议，须核实处理后方可通过",
                                    "objections_open"))
    return problems


def is_late(done_on: date, due_on: date | None) -> bool:
    return due_on is not None and done_on > due_on
