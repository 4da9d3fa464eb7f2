"""Checks of phone numbers and resident ID numbers."""

from __future__ import annotations

import re

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_phone(value: str) -> str | None:
    """The phone without spaces and dashes, or None when it is not a phone number."""
    compact = re.sub(r"[\s\-()]", "", value or "")
    if not _PHONE.match(compact):
        return None
    if compact.startswith("+86"):
        compact = compact[3:]
    if not compact.startswith("+") and len(compact) == 11 and not compact.startswith("1"):
        return None
    return compact


def valid_id_number(value: str) -> bool:
    """An 18-character resident ID with a correct check character."""
    value = (value or "").upper()
    if not re.match(r"^[0-9]{17}[0-9X]$", value):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]
