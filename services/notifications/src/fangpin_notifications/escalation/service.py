"""Escalation (N2): a reminder not acknowledged in time goes to the unit above.

Database state, scanned atomically: the scan claims due reminders with `UPDATE … RETURNING`
(SKIP LOCKED on PostgreSQL, a single writer on SQLite) and, in the same transaction, writes the
reminder of the unit above, its deliveries and the `reminder.escalated` event (outbox). So each
reminder escalates exactly once, however many replicas scan.
"""

from __future__ import annotations

import logging

from sqlalchemy import and_, select, update

from fangpin_common import outbox
from fangpin_common.ids import new_id
from fangpin_common.periodic import every
from fangpin_notifications.deliveries.models import Delivery
from fangpin_notifications.escalation import rules
from fangpin_notifications.escalation.events import reminder_escalated
from fangpin_notifications.inbox.models import CLOSED, Reminder
from fangpin_notifications.routing.rules import render_text, template_values
from fangpin_notifications.routing.service import delivery_payload, push_deliveries, title_of

log = logging.getLogger(__name__)
REMINDERS = Reminder.__table__
DELIVERIES = Delivery.__table__
R = REMINDERS.c


async def scan(notifier, batch_size: int = 200) -> int:
    """Escalate every reminder that is due; returns how many climbed."""
    total = 0
    while True:
        climbed, claimed = await _escalate_batch(notifier, batch_size)
        total += climbed
        if claimed < batch_size:
            return total


async def _escalate_batch(notifier, batch_size: int) -> tuple[int, int]:
    n = notifier
    now = n.clock.now()
    directory = await n.directory.get()
    due = and_(R.escalate_at.is_not(None), R.escalate_at <= now, R.state.not_in(CLOSED))
    claimable = select(R.id).where(due).order_by(R.escalate_at).limit(batch_size)
    if n.postgres:
        claimable = claimable.with_for_update(skip_locked=True)
    climbed = 0
    reminders: list[dict] = []
    deliveries: list[dict] = []
    escalated: list[str] = []
    async with n.db.unit_of_work() as session:
        rows = (await session.execute(
            update(REMINDERS).where(R.id.in_(claimable.scalar_subquery()), due)
            .values(escalate_at=None, escalated_at=now).returning(*REMINDERS.c))).all()
        for row in rows:
            rule = n.rules.get(row.rule or "")
            if rule is None or rule.escalate is None:
                continue  # the rule changed since: nothing more to do
            parent = directory.parent_of(row.recipient_unit, row.township)
            if parent is None:
                continue  # the top of the chain
            level = row.level + 1
            hours = rules.hours_between(row.created_at, now)
            event_type = row.origin_event_type or row.event_type
            values = template_values(event_type, row.event_time, row.data or {}, n.county,
                                     unit=parent, unit_name=directory.name_of(parent),
                                     rule=rule.name)
            values.update({"original": row.body, "from_unit": row.recipient_unit,
                           "from_unit_name": directory.name_of(row.recipient_unit),
                           "hours": hours, "level": level})
            body = render_text(rule.escalate.template, values)
            title = "【逾期未处理·上报】" + (row.title or title_of(rule, values, row.body))
            escalated_id = new_id()
            event = reminder_escalated(row, escalated_id, parent, level, hours, now)
            reminders.append({
                "id": escalated_id, "event_id": event.id, "event_type": event.type,
                "recipient_unit": parent, "channel": "inbox", "township": row.township,
                "village": row.village, "household_id": row.household_id,
                "subject": row.subject, "body": body, "state": "unread",
                "event_time": row.event_time, "created_at": now, "read_at": None,
                "acknowledged_at": None, "rule": rule.name, "title": title[:200],
                "data": row.data or {}, "origin_event_id": row.origin_event_id or row.event_id,
                "origin_event_type": event_type, "overdue": row.overdue, "level": level,
                "escalate_at": rules.next_escalate_at(rule.escalate, level, now),
                "escalated_at": None, "escalated_to": None, "escalated_from": row.id,
                "digest": False, "digest_channels": [],
                # The escalated reminder is closed with the first when the thing is done.
                "subject_key": row.subject_key, "resolved_at": None,
            })
            # Escalations are urgent: pushed at once, never kept for the digest.
            deliveries.extend(push_deliveries(
                n, directory, rule.push_channels, event_id=event.id, event_type=event.type,
                unit=parent, rule=rule.name, reminder_id=escalated_id, title=title[:200], body=body,
                payload=delivery_payload(row.data or {}, parent, directory) | {
                    "escalated_from": row.recipient_unit, "level": level},
                event_time=row.event_time, now=now))
            await session.execute(update(REMINDERS).where(R.id == row.id)
                                  .values(escalated_to=escalated_id))
            await outbox.emit(session, event)
            escalated.append(rule.name)
            climbed += 1
        if reminders:
            await session.execute(n.insert(REMINDERS), reminders)
        if deliveries:
            await session.execute(n.insert(DELIVERIES), deliveries)

        def count() -> None:
            for name in escalated:
                n.metrics.escalated.labels("inbox", name).inc()
            if deliveries:
                n.wake.set()

        if escalated:
            n.after_commit(session, count)
    return climbed, len(rows)


async def loop(notifier) -> None:
    await every(notifier.settings.escalation_interval_seconds, lambda: scan(notifier),
                "escalation scan")
