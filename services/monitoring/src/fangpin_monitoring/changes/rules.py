"""The change feed's opaque cursor: a position (transaction id, sequence) in the log."""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple


class Position(NamedTuple):
    txid: int
    seq: int


START = Position(0, 0)


def encode_cursor(position: Position) -> str:
    raw = f"v1:{position.txid}:{position.seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position:
    """The position a cursor names; ValueError (Chinese reason) if it is not one of ours."""
    if not cursor:
        return START
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, txid, seq = raw.split(":")
        if version != "v1":
            raise ValueError
        position = Position(int(txid), int(seq))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValueError("游标无效：请使用上一页返回的 next_cursor，或不带游标从头读取") from None
    if position.txid < 0 or position.seq < 0:
        raise ValueError("游标无效：请使用上一页返回的 next_cursor，或不带游标从头读取")
    return position
