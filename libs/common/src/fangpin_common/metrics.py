"""Prometheus metrics, one registry per app (tests build several apps in one process)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response

CallNext = Callable[[Request], Awaitable[Response]]


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.service = service
        self.http_latency = Histogram(
            "fangpin_http_request_duration_seconds",
            "HTTP request latency by route and status.",
            ["service", "method", "route", "status"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "fangpin_outbox_pending_rows", "Outbox rows not yet published.", ["service"], registry=r
        )
        self.outbox_oldest_age = Gauge(
            "fangpin_outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row.",
            ["service"],
            registry=r,
        )
        self.events_published = Counter(
            "fangpin_events_published_total", "Events acknowledged by JetStream.",
            ["service", "type"], registry=r,
        )
        self.publish_failures = Counter(
            "fangpin_events_publish_failed_total", "Publish attempts that failed (retried).",
            ["service"], registry=r,
        )
        self.events_consumed = Counter(
            "fangpin_events_consumed_total", "Events handled by a consumer.",
            ["service", "consumer", "type", "outcome"], registry=r,
        )
        self.events_failed = Counter(
            "fangpin_events_failed_total", "Handler failures (the message is redelivered).",
            ["service", "consumer", "type"], registry=r,
        )
        self.events_dead_lettered = Counter(
            "fangpin_events_dead_lettered_total", "Messages kept as dead letters.",
            ["service", "consumer", "type"], registry=r,
        )
        # Read from the table (at each scrape and after each change), so it equals the rows.
        self.dead_letters_open = Gauge(
            "fangpin_dead_letters_open", "Dead letters waiting for an operator (replay, "
            "discard or resolve).", ["service", "consumer"], registry=r,
        )
        self.outbox_dead_lettered = Counter(
            "fangpin_outbox_dead_lettered_total",
            "Outbox rows that could not be published and were moved to the producer dead "
            "letters.", ["service", "type"], registry=r,
        )
        self.outbox_dead_letters_open = Gauge(
            "fangpin_outbox_dead_letters_open",
            "Producer dead letters (events never published) waiting for an operator.",
            ["service"], registry=r,
        )
        self.nats_connected = Gauge(
            "fangpin_nats_connected", "1 while the NATS connection is up.", ["service"], registry=r
        )
        self.deadlines_emitted = Counter(
            "fangpin_deadline_events_total", "Due-soon and overdue events emitted by the scanner.",
            ["service", "kind", "state"], registry=r,
        )

    def middleware(self) -> Callable[[Request, CallNext], Awaitable[Response]]:
        async def record(request: Request, call_next: CallNext) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await call_next(request)
                status = response.status_code
                return response
            finally:
                route = request.scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.http_latency.labels(self.service, request.method, path, str(status)).observe(
                    time.perf_counter() - started
                )

        return record
