"""Shapes of the waitlist: a client's entries and the slot offered to him."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from api.serializers.fields import IdField
from api.serializers.rooms import query_date_in_range
from clinic.bookings import waitlist
from clinic.bookings.models import WaitlistEntry


class WaitlistJoinSerializer(serializers.Serializer):
    date = serializers.DateField(validators=[query_date_in_range])
    after = serializers.TimeField(required=False, allow_null=True, format="%H:%M", help_text="HH:MM, earliest start")
    before = serializers.TimeField(required=False, allow_null=True, format="%H:%M", help_text="HH:MM, latest end")
    room = IdField(required=False, allow_null=True)


class OfferSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    room = serializers.IntegerField()
    room_name = serializers.CharField()
    expires = serializers.DateTimeField()


class WaitlistEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    date = serializers.DateField()
    after = serializers.CharField(allow_null=True)
    before = serializers.CharField(allow_null=True)
    room = serializers.IntegerField(allow_null=True)
    room_name = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=WaitlistEntry.State.values)
    created = serializers.DateTimeField()
    offer = OfferSerializer(allow_null=True)


def _hhmm(value) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def entry_data(entry: WaitlistEntry) -> dict:
    hold = waitlist.current_hold(entry)
    offer = None
    if hold is not None:
        offer = {
            "start": timezone.localtime(hold.start).isoformat(),
            "end": timezone.localtime(hold.end).isoformat(),
            "room": hold.room_id,
            "room_name": hold.room.name,
            "expires": timezone.localtime(hold.expires).isoformat(),
        }
    return {
        "id": entry.pk,
        "date": entry.date.isoformat(),
        "after": _hhmm(entry.after),
        "before": _hhmm(entry.before),
        "room": entry.room_id,
        "room_name": entry.room.name if entry.room else None,
        "state": entry.state,
        "created": timezone.localtime(entry.created).isoformat(),
        "offer": offer,
    }
