"""Serializer fields shared by the API's request shapes."""

from __future__ import annotations

from rest_framework import serializers


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, except that a naive time at the very ends of the calendar
    ("9999-12-31T23:59:59", "0001-01-01T00:00"), on which DRF's check for non-existent local
    times overflows, is refused as out of range (400) instead of failing with a 500."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


# The largest id a database row can have (a signed 64-bit integer): anything larger is refused
# here (400) rather than overflowing the database driver (SQLite raises, it does not answer).
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """A row's id given in a body or a filter: a whole number from 1 to 2^63-1."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)
