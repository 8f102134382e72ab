"""Events published by the console (stream FANGPIN_CONSOLE)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fangpin_common.events.envelope import CloudEvent, EventData, register


class SessionRevokedData(EventData):
    """A session ended before its time (sign-out, revoked by an administrator, account locked):
    the services refuse its access tokens at once, until `not_after`, when the last token
    minted for it has expired anyway."""

    session_id: str
    account_id: str | None = None
    reason: Literal["sign_out", "revoked", "account_locked", "password_reset",
                    "password_changed", "expired"]
    revoked_at: datetime
    not_after: datetime


@register
class SessionRevoked(CloudEvent):
    type: Literal["fangpin.console.session.revoked"] = "fangpin.console.session.revoked"
    data: SessionRevokedData
