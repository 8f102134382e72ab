"""Pure rules of the 包抓包核包过 campaign: item marks, checklist state, the campaign's dates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from fangpin_monitoring.refusals import Problem

DEADLINE = "campaign.verification"
DEFAULT_WARN_DAYS = 7
CATEGORIES_DEFAULT = ("脱贫户", "监测户")
STATUS_NAMES = {"pending": "未核实", "verified": "账实相符", "discrepancy": "不符待整改",
                "fixed": "已整改"}


def campaign_problems(start_on: date, due_on: date, today: date) -> list[Problem]:
    problems: list[Problem] = []
    if due_on < start_on:
        problems.append(("due_on", f"完成期限 {due_on} 早于开始日期 {start_on}", "invalid_dates"))
    elif due_on < today:
        problems.append(("due_on", f"完成期限 {due_on} 已过（今天 {today}）", "due_in_past"))
    return problems


def mark_problems(current: str, status: str, note: str | None, fix: str | None) -> list[Problem]:
    """Why an item cannot take this mark (empty: it can).

    pending/verified/fixed → verified or discrepancy (a later check may find a problem);
    discrepancy → fixed (with what was done), or discrepancy again with a new note."""
    problems: list[Problem] = []
    if status == "discrepancy" and not (note and note.strip()):
        problems.append(("note", "核实不符时须填写不符情况（note）", "required"))
    if status == "fixed":
        if current != "discrepancy":
            problems.append(("status", f"该项当前为“{STATUS_NAMES.get(current, current)}”，"
                                       "只有核实不符的项目才能标记为已整改", "not_discrepancy"))
        if not (fix and fix.strip()):
            problems.append(("fix", "标记已整改时须填写整改情况（fix）", "required"))
    if status == "verified" and current == "discrepancy":
        problems.append(("status", "核实不符的项目须先整改（status=fixed，填写整改情况）",
                         "discrepancy_open"))
    return problems


@dataclass(frozen=True)
class Counts:
    verified: int
    open: int
    fixed: int
    complete: bool


def counts(item_codes: Iterable[str], statuses: Mapping[str, str]) -> Counts:
    """A checklist's counters from its items' statuses (missing: pending). Complete: every
    item verified, or its discrepancy fixed."""
    codes = list(item_codes)
    values = [statuses.get(code, "pending") for code in codes]
    verified = values.count("verified")
    fixed = values.count("fixed")
    return Counts(verified=verified, open=values.count("discrepancy"), fixed=fixed,
                  complete=bool(codes) and verified + fixed == len(codes))
