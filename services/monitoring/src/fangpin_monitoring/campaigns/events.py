"""The events of the campaign's deadline kind (one deadline per township and campaign)."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.monitoring import CampaignDueSoon, CampaignOverdue
from fangpin_monitoring.campaigns.rules import DEADLINE

DEADLINE_EVENTS = {DEADLINE: DeadlineEvents(due_soon=CampaignDueSoon, overdue=CampaignOverdue)}
