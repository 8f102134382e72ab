"""The NATS connection of a service and its JetStream stream."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from fangpin_common.metrics import Metrics
from fangpin_common.settings import ServiceSettings

log = logging.getLogger(__name__)


class Bus:
    """Connects in the background and reconnects forever; `connected` feeds /readyz."""

    def __init__(self, settings: ServiceSettings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self.ready = asyncio.Event()
        self._task: asyncio.Task | None = None

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_until_up(), name="bus-connect")

    async def _connect_until_up(self) -> None:
        delay = 0.2
        while True:
            try:
                self.nc = await nats.connect(
                    self.settings.nats_url,
                    name=f"fangpin-{self.settings.service_name}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    error_cb=self._on_error,
                    closed_cb=self._on_disconnected,
                )
                self.js = self.nc.jetstream(timeout=10)
                await self._provision_stream()
                self.metrics.nats_connected.labels(self.settings.service_name).set(1)
                self.ready.set()
                log.info("connected to NATS", extra={"fields": {"url": self.settings.nats_url}})
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server not up yet: keep trying
                log.warning("NATS not reachable, retrying", extra={"fields": {"error": repr(exc)}})
                if self.nc is not None:
                    await self._close_quietly()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _provision_stream(self) -> None:
        """Create or update this service's stream: idempotent, safe at every start."""
        assert self.js is not None
        s = self.settings
        config = StreamConfig(
            name=s.stream_name,
            subjects=[f"{s.subject_prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=s.stream_max_age_days * 86400,
            duplicate_window=s.stream_duplicate_window_seconds,
        )
        try:
            await self.js.stream_info(s.stream_name)
            await self.js.update_stream(config)
        except NotFoundError:
            await self.js.add_stream(config)

    async def _on_disconnected(self) -> None:
        self.metrics.nats_connected.labels(self.settings.service_name).set(0)

    async def _on_reconnected(self) -> None:
        self.metrics.nats_connected.labels(self.settings.service_name).set(1)
        log.info("reconnected to NATS")

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS error", extra={"fields": {"error": repr(exc)}})

    async def _close_quietly(self) -> None:
        try:
            await asyncio.wait_for(self.nc.close(), 5)  # type: ignore[union-attr]
        except Exception:
            pass
        self.nc = None
        self.js = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.nc is not None:
            try:
                # Bounded: a shutdown must not hang on a server that is gone.
                await asyncio.wait_for(self.nc.drain(), 5)
            except Exception:
                pass
            await self._close_quietly()
        self.metrics.nats_connected.labels(self.settings.service_name).set(0)
