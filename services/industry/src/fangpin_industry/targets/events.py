"""What the targets package emits."""

from __future__ import annotations

from fangpin_common.events.industry import TargetReported, TargetReportedData
from fangpin_industry.targets.models import TargetReport


def target_reported(report: TargetReport, now) -> TargetReported:
    return TargetReported(subject=report.target, time=now, data=TargetReportedData(
        target=report.target, period=report.period, unit=report.unit, value=report.value,
        revision=report.revision))
