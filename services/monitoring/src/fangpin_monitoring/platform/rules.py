"""Pure rules of the platform exchange: which of two versions of a household wins."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any


def content_hash(content: dict[str, Any]) -> str:
    """A stable digest of an item's household facts (key order and spacing do not matter)."""
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def compare(incoming: tuple[int, datetime], stored: tuple[int, datetime]) -> int:
    """-1 older, 0 same version, 1 newer. The version number decides; the platform's update
    time breaks a tie (a platform that only keeps update times sends a constant version)."""
    return (incoming > stored) - (incoming < stored)


def outcome(incoming: tuple[int, datetime], incoming_hash: str,
            stored: tuple[int, datetime] | None, stored_hash: str | None) -> str:
    """What to do with an item: create, update, unchanged (a replay), stale, conflict."""
    if stored is None:
        return "create"
    order = compare(incoming, stored)
    if order < 0:
        return "stale"
    if order == 0:
        return "unchanged" if incoming_hash == stored_hash else "conflict"
    return "update"
