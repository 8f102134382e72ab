"""Events published by the industry service (stream FANGPIN_INDUSTRY)."""

from __future__ import annotations
