"""Events published by the employment service (stream FANGPIN_EMPLOYMENT)."""

from __future__ import annotations
