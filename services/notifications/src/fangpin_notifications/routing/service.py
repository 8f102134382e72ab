"""Turning consumed events into inbox reminders and deliveries. Never commits.

One fetched batch of events is routed in one transaction (the consumer's): reminders and
delivery rows are inserted with ON CONFLICT DO NOTHING on (event, recipient, channel), so a
redelivered or replayed event can never make a second one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, update
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common.db import insert_for, insert_new
from fangpin_common.events import CloudEvent
from fangpin_common.ids import new_id
from fangpin_notifications.deliveries import rules as delivery_rules
from fangpin_notifications.deliveries.models import Delivery
from fangpin_notifications.directory.rules import Directory
from fangpin_notifications.inbox.models import CLOSED, Reminder
from fangpin_notifications.routing.models import Resolution
from fangpin_notifications.routing.rules import (
    Rule,
    render_text,
    resolve_recipients,
    subject_value,
    template_values,
)

REMINDERS = Reminder.__table__
DELIVERIES = Delivery.__table__
RESOLUTIONS = Resolution.__table__
R = REMINDERS.c
D = DELIVERIES.c
S = RESOLUTIONS.c


def is_overdue(event_type: str, data: Mapping[str, Any]) -> bool:
    return event_type.endswith("overdue") or bool(data.get("days_overdue"))


def title_of(rule: Rule, values: Mapping[str, Any], body: str) -> str:
    if rule.title:
        return render_text(rule.title, values)[:200]
    first = body.split("，")[0].split("。")[0]
    return first if len(first) <= 60 else first[:59] + "…"


def delivery_row(notifier, *, event_id: str, event_type: str, unit: str, channel: str,
                 rule: str | None, reminder_id: str | None, title: str, body: str,
                 payload: dict, event_time: datetime, now: datetime) -> dict:
    policy = notifier.settings.policy(channel)
    # Quiet hours: the message waits until they end (no SMS at night).
    available = delivery_rules.quiet_until(now, policy.quiet_hours) or now
    return {"id": new_id(), "event_id": event_id, "event_type": event_type,
            "recipient_unit": unit, "channel": channel, "rule": rule,
            "reminder_id": reminder_id, "title": title, "body": body, "payload": payload,
            "state": "pending", "attempts": 0, "event_time": event_time, "created_at": now,
            "available_at": available, "claimed_until": None, "sent_at": None,
            "last_error": None}


def push_deliveries(notifier, directory: Directory, channels: Sequence[str], **row) -> list[dict]:
    """Rows for the channels this unit can be reached on and this deployment can send on."""
    return [delivery_row(notifier, channel=c, **row) for c in channels
            if notifier.usable(c) and directory.reachable(row["unit"], c)]


# A "done" event's part: its id, the rules whose reminders it closes, the thing, its time.
Done = tuple[str, tuple[str, ...], str, datetime]


@dataclass
class Plan:
    """What a batch of events makes: rows and closings, built outside any transaction (the
    consumer builds the next batch's while the previous one is being written)."""

    now: datetime
    reminders: list[dict] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    done: list[Done] = field(default_factory=list)
    # (event id, rule, seconds from the event to its reminder)
    stored: list[tuple[str, str, float]] = field(default_factory=list)


async def route(session: AsyncSession, events: Sequence[CloudEvent], notifier) -> int:
    """Reminders and deliveries for a batch of events; returns how many reminders."""
    directory = await notifier.directory.get(session)
    return await apply(session, plan(events, notifier, directory), notifier)


def plan(events: Sequence[CloudEvent], notifier, directory: Directory) -> Plan:
    """The rows a batch of events makes (pure: no database)."""
    now = notifier.clock.now()
    county = notifier.county
    out = Plan(now)
    reminders, deliveries, stored = out.reminders, out.deliveries, out.stored
    no_data: dict = {}  # one object for every row without data: it is serialised once
    for event in events:
        data = event.data.model_dump(mode="json")
        for key, rule_names in notifier.rules.resolving(event.type):
            if data.get(key) not in (None, ""):
                out.done.append((event.id, rule_names, str(data[key])[:100], event.time))
        matched = notifier.rules.matching(event.type, data)
        if not matched:
            continue
        # A reminder's columns, built in three layers: the event's, the rule's, the recipient's.
        of_event = {
            "event_id": event.id, "event_type": event.type, "channel": "inbox",
            "township": data.get("township"), "village": data.get("village"),
            "household_id": data.get("household_id"), "subject": event.subject,
            "state": "unread", "event_time": event.time, "created_at": now,
            "origin_event_id": event.id, "origin_event_type": event.type,
            "overdue": is_overdue(event.type, data), "level": 0}
        latency = (now - event.time).total_seconds()
        seen: set[tuple[str, str]] = set()  # (unit, channel): one of each per event
        # The event's texts, rendered once for every recipient (and rule) they do not name.
        texts: dict[tuple, tuple[str, str]] = {}
        for rule in matched:
            name, fields = rule.name, rule.text_fields
            per_unit = not fields.isdisjoint(("unit", "unit_name"))
            per_rule = "rule" in fields
            push = rule.push_channels if not rule.digest else ()
            of_rule = None
            if "inbox" in rule.channels:
                of_rule = of_event | {
                    "rule": name, "subject_key": subject_value(rule, data),
                    # The data is kept for the escalation's text; others need none.
                    "data": data if rule.escalate else no_data,
                    "escalate_at": (now + timedelta(hours=rule.escalate.after_hours)
                                    if rule.escalate else None),
                    "digest": rule.digest,
                    "digest_channels": rule.push_channels if rule.digest else ()}
            for unit in resolve_recipients(rule, data, county):
                key = (rule.template, rule.title, unit if per_unit else None,
                       name if per_rule else None)
                found = texts.get(key)
                if found is None:
                    values = template_values(event.type, event.time, data, county, unit=unit,
                                             unit_name=directory.name_of(unit), rule=name,
                                             fields=fields)
                    body = render_text(rule.template, values)
                    found = texts[key] = (body, title_of(rule, values, body))
                body, title = found
                reminder_id = None
                if of_rule is not None and (unit, "inbox") not in seen:
                    seen.add((unit, "inbox"))
                    reminder_id = new_id()
                    reminders.append({**of_rule, "id": reminder_id, "recipient_unit": unit,
                                      "body": body, "title": title})
                    stored.append((event.id, name, latency))
                if not push:
                    continue  # inbox only, or its push channels go out in the daily digest
                fresh = [c for c in push if (unit, c) not in seen]
                seen.update((unit, c) for c in fresh)
                deliveries.extend(push_deliveries(
                    notifier, directory, fresh, event_id=event.id, event_type=event.type,
                    unit=unit, rule=name, reminder_id=reminder_id, title=title, body=body,
                    payload=delivery_payload(data, unit, directory), event_time=event.time,
                    now=now))
    return out


async def apply(session: AsyncSession, plan: Plan, notifier,
                fresh: set[str] | None = None) -> int:
    """Write a plan in the caller's transaction — only the rows of the `fresh` events when
    given (the others were applied before); returns how many reminders."""
    reminders, deliveries, stored, done = plan.reminders, plan.deliveries, plan.stored, plan.done
    if fresh is not None:
        reminders = [r for r in reminders if r["event_id"] in fresh]
        deliveries = [d for d in deliveries if d["event_id"] in fresh]
        stored = [s for s in stored if s[0] in fresh]
        done = [d for d in done if d[0] in fresh]
    # One multi-row INSERT … ON CONFLICT DO NOTHING each: a second copy is dropped.
    await insert_new(session, REMINDERS, reminders)
    await insert_new(session, DELIVERIES, deliveries)
    # After the inserts: a batch holding both the overdue event and the one that settles it
    # closes the reminder it has just made.
    resolved = await resolve(session, done, [r for r in reminders if r["subject_key"]],
                             plan.now)

    def count() -> None:
        m = notifier.metrics
        per_rule = Counter(rule_name for _, rule_name, _ in stored)
        for rule_name, n in per_rule.items():
            m.sent.labels("inbox", rule_name).inc(n)
        latency = m.latency.labels("inbox")
        for _, _, seconds in stored:
            latency.observe(max(seconds, 0.0))
        for rule_name, n in resolved.items():
            m.resolved.labels("inbox", rule_name).inc(n)
        if deliveries:
            notifier.wake.set()

    if stored or deliveries or resolved:
        notifier.after_commit(session, count)
    return len(reminders)


async def resolve(session: AsyncSession, done: Sequence[Done],
                  reminders: Sequence[Mapping[str, Any]], now: datetime) -> Counter[str]:
    """Record what the domain reported done (per rule and thing, the latest time) and close
    the open reminders it covers — made of events up to that time: the ones stored before,
    and new ones whose "done" came first. Closed: state resolved, no further escalation,
    pending pushes cancelled. How many per rule."""
    latest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for event_id, rule_names, key, at in done:
        for rule in rule_names:
            if (rule, key) not in latest or latest[rule, key][0] < at:
                latest[rule, key] = (at, event_id)
    if latest:
        insert = insert_for(session, RESOLUTIONS).values([
            {"rule": rule, "subject_key": key, "done_at": at, "event_id": event_id}
            for (rule, key), (at, event_id) in latest.items()])
        await session.execute(insert.on_conflict_do_update(
            index_elements=[S.rule, S.subject_key],
            set_={"done_at": insert.excluded.done_at, "event_id": insert.excluded.event_id},
            where=S.done_at < insert.excluded.done_at))
    keys = sorted({key for _, key in latest} | {r["subject_key"] for r in reminders})
    if not keys:
        return Counter()
    rules = sorted({rule for rule, _ in latest} | {r["rule"] for r in reminders})
    covered = exists().where(S.rule == R.rule, S.subject_key == R.subject_key,
                             S.done_at >= R.event_time)
    closed = []
    for start in range(0, len(keys), 500):
        closed += (await session.execute(
            update(REMINDERS)
            .where(R.subject_key.in_(keys[start:start + 500]), R.rule.in_(rules),
                   R.state.not_in(CLOSED), covered)
            .values(state="resolved", resolved_at=now, escalate_at=None)
            .returning(R.id, R.rule))).all()
    if closed:
        ids = [row.id for row in closed]
        for start in range(0, len(ids), 500):
            await session.execute(
                update(DELIVERIES)
                .where(D.reminder_id.in_(ids[start:start + 500]), D.state == "pending")
                .values(state="cancelled", claimed_until=None, last_error=RESOLVED_NOTE))
    return Counter(row.rule for row in closed)


RESOLVED_NOTE = "事项已办结，提醒已关闭，无需再发送"


def delivery_payload(data: Mapping[str, Any], unit: str, directory: Directory) -> dict:
    return {"event": dict(data), "recipient_unit": unit,
            "recipient_name": directory.name_of(unit)}
