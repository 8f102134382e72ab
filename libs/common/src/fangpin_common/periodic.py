"""The background loops' one shape: do a round of work, wait, again; a failed round is logged
and the next one tries again (a loop that died would silently stop reminders)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def every(seconds: float, work: Callable[[], Awaitable[Any]], what: str,
                first_delay: float = 0.0) -> None:
    """Run `work` after `first_delay` and then every `seconds`, until cancelled."""
    if first_delay:
        await asyncio.sleep(first_delay)
    while True:
        try:
            await work()
        except Exception:
            log.exception("%s failed; tried again at the next round", what)
        await asyncio.sleep(seconds)
