"""The API's request parser: JSON, with a bound on nesting."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in item)
    return deepest


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a body nested deeper than MAX_DEPTH levels is a 400: no
    request of this API needs more than a few, and a very deep one would exhaust the decoder's
    recursion (a RecursionError, which DRF would let through as a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = ParseError(_("JSON nested deeper than %(depth)d levels.") % {"depth": MAX_DEPTH})
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if depth(data) > MAX_DEPTH:
            raise too_deep
        return data
