"""What the warnings package emits, and the events of its deadline kind."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.monitoring import (
    WarningRaised,
    WarningRaisedData,
    WarningVerificationDueSoon,
    WarningVerificationOverdue,
    WarningVerified,
    WarningVerifiedData,
)
from fangpin_monitoring.warnings.models import RiskWarning
from fangpin_monitoring.warnings.rules import VERIFICATION_DEADLINE

DEADLINE_EVENTS = {
    VERIFICATION_DEADLINE: DeadlineEvents(due_soon=WarningVerificationDueSoon,
                                          overdue=WarningVerificationOverdue),
}


def raised(w: RiskWarning, now) -> WarningRaised:
    return WarningRaised(subject=w.id, time=now, data=WarningRaisedData(
        warning_id=w.id, kind=w.kind, source=w.source, household_id=w.household_id,
        member_id=w.member_id, township=w.township, village=w.village, risk_type=w.risk_type,
        reason=w.reason, upload_id=w.upload_id, raised_on=w.raised_on,
        verify_due_on=w.verify_due_on))


def verified(w: RiskWarning, late: bool, now) -> WarningVerified:
    return WarningVerified(subject=w.id, time=now, data=WarningVerifiedData(
        warning_id=w.id, kind=w.kind, household_id=w.household_id, township=w.township,
        village=w.village, decision="include" if w.status == "included" else "dismiss",
        reason=w.decision_reason, verified_on=w.verified_on, late=late,
        identification_id=w.identification_id))
