"""The overdue picture by township, from the monitoring report (M13)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass
class TownshipLine:
    name: str
    overdue: int = 0  # open and past due on the report day
    late: int = 0  # met, but after the due date
    on_time: int = 0
    not_due: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def period_params(scope: str, today: date) -> dict[str, str]:
    if scope == "month":
        return {"period": f"{today.year}-{today.month:02d}"}
    return {"from": date(today.year, 1, 1).isoformat(), "to": today.isoformat()}


def overdue_by_township(report: dict[str, Any], townships_in_order: list[tuple[str, str]]
                        ) -> tuple[list[TownshipLine], TownshipLine, list[str]]:
    """One line per township of the county file (in its order; a township the report has no
    row for has nothing due), the county line, and the deadline kinds that have anything
    overdue (the chart's series)."""
    def line(row: dict[str, Any], name: str) -> TownshipLine:
        out = TownshipLine(name)
        for d in row.get("deadlines", []):
            out.overdue += d["open_overdue"]
            out.late += d["met_late"]
            out.on_time += d["met_on_time"]
            out.not_due += d["open_not_due"]
            if d["open_overdue"]:
                out.by_kind[d["kind_name"]] = out.by_kind.get(d["kind_name"], 0) + d[
                    "open_overdue"]
        return out

    rows = {r["township"]: r for r in report["rows"] if r["level"] == "township"}
    townships = [line(rows.get(code, {}), name) for code, name in townships_in_order]
    total = line(report["total"], "合计")
    kinds = sorted({k for t in townships for k in t.by_kind})
    return townships, total, kinds


def chart_data(townships: list[TownshipLine], kinds: list[str]) -> dict[str, Any]:
    """What static/js/charts.js draws: one stacked bar per township, a series per kind."""
    return {"labels": [t.name for t in townships],
            "series": [{"name": k, "values": [t.by_kind.get(k, 0) for t in townships]}
                       for k in kinds]}
