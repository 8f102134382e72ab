"""What the quality package emits at the end of a run."""

from __future__ import annotations

from fangpin_common.events.monitoring import (
    AnomaliesAssignedData,
    QualityAnomaliesAssigned,
    QualityRunCompleted,
    QualityRunCompletedData,
)
from fangpin_monitoring.quality.models import QualityRun

LIST_PATH = "/api/v1/quality/anomalies"


def run_completed(run: QualityRun) -> QualityRunCompleted:
    return QualityRunCompleted(subject=run.id, time=run.finished_at, data=QualityRunCompletedData(
        run_id=run.id, trigger=run.trigger, business_date=run.business_date, rules=run.rules,
        found=run.found, new=run.new, still_open=run.still_open, reopened=run.reopened,
        fixed=run.fixed, counts_by_rule=run.counts_by_rule,
        counts_by_township=run.counts_by_township))


def anomalies_assigned(run: QualityRun, township: str, open_count: int, new_count: int,
                       by_rule: dict[str, int]) -> QualityAnomaliesAssigned:
    return QualityAnomaliesAssigned(subject=run.id, time=run.finished_at,
                                    data=AnomaliesAssignedData(
        run_id=run.id, township=township, business_date=run.business_date,
        open_count=open_count, new_count=new_count, counts_by_rule=by_rule,
        link=f"{LIST_PATH}?township={township}&status=open"))
