"""The change feed's opaque cursor: the last position (sequence number) handed out."""

from __future__ import annotations

import base64
import binascii

START = 0
_INVALID = "游标无效：请使用上一页返回的 next_cursor，或不带游标从头读取"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"c1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The position a cursor names; ValueError (Chinese reason) if it is not one of ours."""
    if not cursor:
        return START
    try:
        version, seq = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode(
        ).split(":")
        position = int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError(_INVALID) from None
    if version != "c1" or position < 0:
        raise ValueError(_INVALID)
    return position
