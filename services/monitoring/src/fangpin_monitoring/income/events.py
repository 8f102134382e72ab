"""The events of the income package's deadline kind (it emits nothing else)."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.monitoring import IncomeCollectionDueSoon, IncomeCollectionOverdue
from fangpin_monitoring.income.rules import COLLECTION_DEADLINE

DEADLINE_EVENTS = {
    COLLECTION_DEADLINE: DeadlineEvents(due_soon=IncomeCollectionDueSoon,
                                        overdue=IncomeCollectionOverdue),
}
