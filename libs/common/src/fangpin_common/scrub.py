"""The one scrubber for free text that leaves a service: events and logs.

Staff type personal data into free text ("本人来电 13912345678"): reasons, names, notes, a
department file's columns. Whatever leaves through the bus or the logs passes `scrub` first,
which replaces resident IDs (18 and 15 digits), phone numbers (mobile, landline with its area
code) and bank card numbers by a marker. Full-width digits (０-９, Ｘ) count as digits.

Digit runs inside identifiers are left alone: a match must not touch a hex digit on either
side, and a whole UUID (our row and event ids) is never scrubbed, so an id that happens to hold
eleven decimal digits in a row stays intact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ID_MARKER = "[身份证号已隐去]"
PHONE_MARKER = "[电话已隐去]"
CARD_MARKER = "[银行卡号已隐去]"

FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789XX")

# No hex digit just before or after: a digit run inside a hex id (a UUID in a link) is not a
# number; "tel13912345678" still is.
_B = r"(?<![0-9A-Fa-f])"
_E = r"(?![0-9A-Fa-f])"
# Separators inside a number: none, or the same space or hyphen between every group (a
# backreference), so a UUID's groups never read as a grouped card number.
_SEP = r"([ \-]?)"
_PATTERNS = (
    # 18 digits (the last may be X), also as 6-8-4 groups; before the card rule (same length).
    (re.compile(_B + r"\d{6}" + _SEP + r"\d{8}\1\d{3}[\dXx]" + _E), ID_MARKER),
    # Bank cards: 16 to 19 digits, also in groups of four.
    (re.compile(_B + r"(?:\d{16,19}|\d{4}([ \-])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?)" + _E),
     CARD_MARKER),
    # First-generation resident IDs: 15 digits.
    (re.compile(_B + r"\d{15}" + _E), ID_MARKER),
    # Mobiles, with or without +86, also as 3-4-4.
    (re.compile(_B + r"(?:\+?86[ \-]?)?1[3-9]\d" + _SEP + r"\d{4}\1\d{4}" + _E), PHONE_MARKER),
    # Landlines with their area code: 0772-1234567, (0772)1234567, 077212345678 (not right
    # after a hyphen: a UUID's last group may be twelve such digits).
    (re.compile(r"(?:(?<![0-9A-Fa-f\-])0\d{2,3}|[(（]0\d{2,3}[)）])[ \-]?[2-9]\d{6,7}" + _E),
     PHONE_MARKER),
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Every match has ten digits or more (the shortest: a 3-digit area code and a 7-digit
# landline) and three in a row: most texts (names, codes, ids) skip the patterns.
_THREE_DIGITS = re.compile(r"[0-9０-９]{3}")


def scrub(text: str) -> str:
    """`text` with every resident ID, phone and bank card number replaced by a marker."""
    if (len(text) < 10 or (len(text) == 36 and _UUID.fullmatch(text))
            or not _THREE_DIGITS.search(text)):
        return text
    text = text.translate(FULLWIDTH)
    for pattern, marker in _PATTERNS:
        text = pattern.sub(marker, text)
    return text


def scrub_value(value: Any) -> Any:
    """Scrub every string in a JSON-like value (dict keys included). Numbers stay numbers:
    typed counts and amounts are not free text, and a reader expects their type."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    if isinstance(value, dict | Mapping):
        return {scrub_value(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    return value
