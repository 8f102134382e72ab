"""What identification (识别纳入) and risk elimination (风险消除) share: ordered steps, each done
by given levels, each recorded with a date and, when refused, a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ROLE_NAMES = {"village": "村", "township": "乡镇", "county": "县", "department": "部门",
              "platform": "自治区平台"}


@dataclass(frozen=True)
class Refusal:
    field: str | tuple[str | int, ...]
    message: str
    code: str


@dataclass(frozen=True)
class Procedure:
    name: str  # 识别程序, 风险消除程序
    steps: tuple[str, ...]
    step_names: dict[str, str]
    roles: dict[str, tuple[str, ...]]
    closed_labels: dict[str, str]  # status → how a closed procedure is named
    closed_code: str

    def next_step(self, done: tuple[str, ...]) -> str | None:
        """The step after the passed steps `done` (in order), None when all are done."""
        return self.steps[len(done)] if len(done) < len(self.steps) else None

    def transition(self, status: str, done: tuple[str, ...], step: str,
                   role: str, roles: tuple[str, ...] | None = None) -> Refusal | None:
        """Why `step` cannot be recorded now by `role`, or None: the order is enforced here.
        `roles`: who does the step, from the county file's authority (default `self.roles`)."""
        names = self.step_names
        if status != "in_progress":
            label = self.closed_labels.get(status, status)
            return Refusal("step", f"{self.name}{label}，不能再记录步骤", self.closed_code)
        expected = self.next_step(done)
        if step != expected:
            if step in done:
                return Refusal("step", f"“{names[step]}”已完成，当前应进行“{names[expected]}”",
                               "step_done")
            return Refusal("step", f"步骤顺序错误：当前应进行“{names[expected]}”，"
                                   f"不能直接进行“{names[step]}”", "step_order")
        allowed = self.roles[step] if roles is None else roles
        if role not in allowed:
            who = "、".join(ROLE_NAMES[r] for r in allowed)
            return Refusal("step", f"“{names[step]}”由{who}级办理，"
                                   f"{ROLE_NAMES.get(role, role)}级不能办理", "step_role")
        return None

    def dated_problems(self, step: str, outcome: str, record: dict, previous_on: date,
                       today: date) -> list[Refusal]:
        """The checks every step's record gets: its date, and a reason when it is refused."""
        problems: list[Refusal] = []
        done_on: date = record["done_on"]
        if done_on > today:
            problems.append(Refusal("done_on", f"办理日期 {done_on} 晚于今天（{today}）",
                                    "future_date"))
        elif done_on < previous_on:
            problems.append(Refusal("done_on", f"办理日期 {done_on} 早于上一步的日期 "
                                               f"{previous_on}", "before_previous"))
        if outcome == "reject" and not (record.get("reason") or "").strip():
            problems.append(Refusal("reason", f"“{self.step_names[step]}”不通过须写明原因",
                                    "reason_required"))
        return problems
