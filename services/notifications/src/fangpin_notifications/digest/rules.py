"""Pure digest rules: when today's digest is due, and what it says."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from uuid import NAMESPACE_URL, uuid5

from fangpin_common.clock import BUSINESS_TZ

DIGEST_TYPE = "fangpin.notifications.digest"


def due_day(now: datetime, at: time) -> date | None:
    """The business day whose digest is due at `now` (None before the digest time)."""
    local = now.astimezone(BUSINESS_TZ)
    return local.date() if local.time().replace(tzinfo=None) >= at else None


def digest_id(unit: str, day: date) -> str:
    """One digest per unit and day: the id every replica computes alike."""
    return str(uuid5(NAMESPACE_URL, f"fangpin:digest:{unit}:{day.isoformat()}"))


def compose(unit_name: str, day: date, items: Sequence, max_items: int) -> tuple[str, str]:
    """(title, body) of a unit's digest; items are reminders, oldest first."""
    overdue = [r for r in items if r.overdue]
    title = f"【每日汇总】{unit_name} {day.isoformat()}：未处理提醒 {len(items)} 条，" \
            f"其中已逾期 {len(overdue)} 条"
    ordered = overdue + [r for r in items if not r.overdue]
    lines = [f"{unit_name}：截至 {day.isoformat()}，本单位有 {len(items)} 条提醒尚未确认处理，"
             f"其中已逾期 {len(overdue)} 条。"]
    for i, r in enumerate(ordered[:max_items], 1):
        mark = "【已逾期】" if r.overdue else "【待处理】"
        text = r.body if len(r.body) <= 90 else r.body[:89] + "…"
        received = r.created_at.astimezone(BUSINESS_TZ).date().isoformat()
        shown = text if text.startswith("【") else mark + text
        lines.append(f"{i}. {shown}（{received}）")
    if len(ordered) > max_items:
        lines.append(f"另有 {len(ordered) - max_items} 条未列出，请登录系统查看。")
    lines.append("请登录系统逐条确认处理。")
    return title, "\n".join(lines)
