"""The service's own collectors, registered against the app's registry (never the global one)."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from prometheus_client import Counter, Gauge, Histogram

from fangpin_common.metrics import Metrics

# From event time to delivery: seconds for the inbox, up to a night held for quiet hours.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
                   4 * 3600, 12 * 3600, 86400)


class NotificationMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        labels = ["channel", "rule"]
        self.sent = Counter("fangpin_notifications_sent_total",
                            "Reminders delivered (stored in the inbox, or accepted by the "
                            "channel's peer).", labels, registry=r)
        self.failed = Counter("fangpin_notifications_failed_total",
                              "Delivery attempts that failed.", labels, registry=r)
        self.retried = Counter("fangpin_notifications_retried_total",
                               "Failed attempts scheduled to be tried again.", labels, registry=r)
        self.escalated = Counter("fangpin_notifications_escalated_total",
                                 "Unacknowledged reminders escalated to the level above.",
                                 labels, registry=r)
        self.resolved = Counter("fangpin_notifications_resolved_total",
                                "Open reminders closed because the domain reported the thing "
                                "done.", labels, registry=r)
        self.dead_lettered = Counter("fangpin_notifications_dead_lettered_total",
                                     "Deliveries that exhausted their retries (or could never "
                                     "succeed).", labels, registry=r)
        self.dead_letters = Gauge("fangpin_notifications_dead_letters",
                                  "Dead-letter deliveries waiting for an operator.", ["channel"],
                                  registry=r)
        self.unknown = Gauge("fangpin_notifications_unknown_deliveries",
                             "Deliveries whose send a crash interrupted on a channel without "
                             "an idempotency key: for an operator to check and resend.",
                             ["channel"], registry=r)
        self.pending = Gauge("fangpin_notifications_pending_deliveries",
                             "Deliveries waiting to be sent.", ["channel"], registry=r)
        self.latency = Histogram("fangpin_notifications_delivery_latency_seconds",
                                 "From the event's time to its delivery.", ["channel"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.digests = Counter("fangpin_notifications_digests_total",
                               "Daily digests composed, one per unit and day.", registry=r)


_by_app: WeakKeyDictionary[Metrics, NotificationMetrics] = WeakKeyDictionary()


def notification_metrics(metrics: Metrics) -> NotificationMetrics:
    """One set of collectors per app (its Metrics object), created on first use."""
    found = _by_app.get(metrics)
    if found is None:
        found = _by_app[metrics] = NotificationMetrics(metrics)
    return found
