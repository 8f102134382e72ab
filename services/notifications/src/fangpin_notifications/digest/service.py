"""The daily digest: once a day (settings.digest_time, Asia/Shanghai) each unit that has open
reminders of digest rules gets one summary — in its inbox and on the push channels those rules
name — instead of a stream of messages.

Claimed by inserting the day's `digest_runs` row in the same transaction that writes the
digests: two replicas cannot both compose the same day's (the second insert fails).
"""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from fangpin_common.periodic import every
from fangpin_notifications.deliveries.models import Delivery
from fangpin_notifications.digest import rules
from fangpin_notifications.digest.models import DigestRun
from fangpin_notifications.inbox.models import CLOSED, Reminder
from fangpin_notifications.routing.service import delivery_payload, push_deliveries

log = logging.getLogger(__name__)


async def run_if_due(notifier) -> int | None:
    day = rules.due_day(notifier.clock.now(), notifier.settings.digest_time)
    if day is None:
        return None
    return await run(notifier, day)


async def run(notifier, day: date) -> int | None:
    """Compose the day's digests; how many units got one (None: that day was done already)."""
    n = notifier
    now = n.clock.now()
    directory = await n.directory.get()
    try:
        async with n.db.unit_of_work() as session:
            if await session.get(DigestRun, day) is not None:
                return None
            run_row = DigestRun(business_date=day, started_at=now)
            session.add(run_row)
            await session.flush()  # the claim: a second replica fails here or at commit
            open_items = (await session.exec(
                select(Reminder).where(Reminder.digest.is_(True),  # type: ignore[attr-defined]
                                       col(Reminder.state).not_in(CLOSED))
                .order_by(Reminder.created_at, Reminder.id))).all()
            by_unit: dict[str, list[Reminder]] = {}
            for r in open_items:
                by_unit.setdefault(r.recipient_unit, []).append(r)
            reminders, deliveries = [], []
            for unit, items in sorted(by_unit.items()):
                title, body = rules.compose(directory.name_of(unit), day, items,
                                            n.settings.digest_max_items)
                event_id = rules.digest_id(unit, day)
                reminder_id = rules.digest_id(f"inbox:{unit}", day)
                reminders.append(Reminder(
                    id=reminder_id, event_id=event_id, event_type=rules.DIGEST_TYPE,
                    recipient_unit=unit, channel="inbox", body=body, title=title[:200],
                    state="unread", event_time=now, created_at=now, rule="digest",
                    data={"business_date": day.isoformat(), "open": len(items),
                          "overdue": sum(1 for r in items if r.overdue)},
                    overdue=False).model_dump())
                channels = sorted({c for r in items for c in (r.digest_channels or [])})
                deliveries.extend(push_deliveries(
                    n, directory, channels, event_id=event_id, event_type=rules.DIGEST_TYPE,
                    unit=unit, rule="digest", reminder_id=None, title=title[:200], body=body,
                    payload=delivery_payload({"business_date": day.isoformat(),
                                              "reminder_ids": [r.id for r in items]},
                                             unit, directory),
                    event_time=now, now=now))
            if reminders:
                await session.execute(n.insert(Reminder.__table__), reminders)
            if deliveries:
                await session.execute(n.insert(Delivery.__table__), deliveries)
            run_row.units = len(by_unit)
            session.add(run_row)
            units = len(by_unit)

            def count() -> None:
                n.metrics.digests.inc(units)
                if deliveries:
                    n.wake.set()

            n.after_commit(session, count)
    except IntegrityError:
        return None  # another replica composed this day's digests
    return units


async def loop(notifier) -> None:
    await every(notifier.settings.digest_interval_seconds, lambda: run_if_due(notifier),
                "digest run")
