"""Events published by the notifications service (stream FANGPIN_NOTIFICATIONS)."""

from __future__ import annotations
