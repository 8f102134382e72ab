"""Row and event ids: time-ordered UUIDs (version 7, RFC 9562).

Ids made one after the other sort one after the other, so an index keyed on them grows at its
end: a batch of new rows touches a few pages instead of one page per row, as random (version 4)
ids did — which made a batch's commit write most of the index again.
"""

from __future__ import annotations

import random
import time

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def new_id() -> str:
    """A UUID version 7: 48 bits of Unix milliseconds, then 74 random bits."""
    value = ((time.time_ns() // 1_000_000) << 80 | _VERSION
             | random.getrandbits(12) << 64 | _VARIANT | random.getrandbits(62))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
