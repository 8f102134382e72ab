"""Pure rules of the "251" package: progress, and the form's two derived columns."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from fangpin_employment.policy import PackageItem


def progress(counts: Mapping[str, int], package: tuple[PackageItem, ...]) -> list[tuple]:
    """(kind, label, required, done) per package item."""
    return [(p.kind, p.label, p.required, counts.get(p.kind, 0)) for p in package]


def carried_out(counts: Mapping[str, int], package: tuple[PackageItem, ...]) -> bool:
    """是否开展"251"就业帮扶: every item of the package recorded as often as it requires."""
    return all(counts.get(p.kind, 0) >= p.required for p in package)


def has_ledger(counts: Mapping[str, int]) -> bool:
    """开展"251"帮扶是否有台账: the helper's ledger holds at least one recorded item."""
    return sum(counts.values()) > 0


def progress_text(counts: Mapping[str, int], package: tuple[PackageItem, ...]) -> str:
    return "、".join(f"{p.label}{min(counts.get(p.kind, 0), p.required)}/{p.required}"
                    for p in package)


def item_problems(*, kind: str, item_on: date, today: date,
                  package: tuple[PackageItem, ...]) -> list[tuple[str, str]]:
    problems = []
    kinds = {p.kind: p.label for p in package}
    if kind not in kinds:
        allowed = "、".join(f"{k}（{label}）" for k, label in kinds.items())
        problems.append(("kind", f"未知服务项目：{kind}，应为 {allowed}"))
    if item_on > today:
        problems.append(("item_on", f"服务日期 {item_on} 晚于今天（{today}）"))
    return problems


def yes_no(value: bool) -> str:
    return "是" if value else "否"
