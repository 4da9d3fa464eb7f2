"""Shapes of rooms, opening hours, closures and slots."""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.rooms import qr
from clinic.rooms.models import Closure, Opening, RelayModule, Room


class LockSerializer(serializers.Serializer):
    host = serializers.CharField(max_length=255)
    port = serializers.IntegerField(min_value=1, max_value=65535, default=502)
    unit = serializers.IntegerField(min_value=1, max_value=247, default=1)
    coil = serializers.IntegerField(min_value=0, max_value=31, default=0)
    pulse_ms = serializers.IntegerField(min_value=100, max_value=60000, default=3000)
    mode = serializers.ChoiceField(choices=RelayModule.Mode.values, default=RelayModule.Mode.FLASH)
    # Not given: the board's framing as it stands (tcp for a new board), so that an app that does
    # not know the field never switches a board to another framing.
    framing = serializers.ChoiceField(choices=RelayModule.Framing.values, required=False)
    door_sensor_input = serializers.IntegerField(min_value=0, max_value=31, required=False, allow_null=True)


class RoomWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    lock = LockSerializer(required=False, allow_null=True)
    door_qr_mode = serializers.ChoiceField(choices=Room.QrMode.values, default=Room.QrMode.UNLOCK)
    active = serializers.BooleanField(required=False)


class RoomSerializer(serializers.ModelSerializer):
    class Meta:
        model = Room
        fields = ["id", "name", "active", "door_qr_mode"]


class RoomAnswerSerializer(RoomSerializer):
    """The documented shape of a room read by anyone: staff (rooms.manage_rooms) also get the
    door token, the door QR's URL and the lock settings."""

    door_token = serializers.CharField(required=False)
    door_url = serializers.URLField(required=False)
    lock = LockSerializer(required=False, allow_null=True)

    class Meta(RoomSerializer.Meta):
        fields = RoomSerializer.Meta.fields + ["door_token", "door_url", "lock"]


class RoomStaffSerializer(RoomSerializer):
    door_url = serializers.SerializerMethodField()
    lock = serializers.SerializerMethodField()

    class Meta(RoomSerializer.Meta):
        fields = RoomSerializer.Meta.fields + ["door_token", "door_url", "lock"]

    def get_door_url(self, room: Room) -> str:
        return qr.door_url(room)

    def get_lock(self, room: Room) -> dict | None:
        if room.relay is None:
            return None
        return {
            "host": room.relay.host,
            "port": room.relay.port,
            "unit": room.relay.unit,
            "coil": room.coil,
            "pulse_ms": room.pulse_ms,
            "mode": room.relay.mode,
            "framing": room.relay.framing,
            "door_sensor_input": room.door_sensor_input,
            # Read-only: when the board stopped answering the health watch (null: it answers).
            "offline_since": (
                timezone.localtime(room.relay.offline_since).isoformat() if room.relay.offline_since else None
            ),
        }


@extend_schema_field(
    {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", "example": "08:30"}
)
class ClockTimeField(serializers.TimeField):
    """A time of day as "HH:MM" (answers) or "HH:MM[:SS]" (requests): not OpenAPI's "time"
    format, which wants seconds and an offset."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        kwargs.setdefault("input_formats", ["%H:%M", "%H:%M:%S"])
        super().__init__(**kwargs)


class OpeningSerializer(serializers.ModelSerializer):
    date = serializers.DateField(required=False, allow_null=True)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, max_length=7
    )
    start_time = ClockTimeField()
    end_time = ClockTimeField()
    slot_minutes = serializers.IntegerField(min_value=5, max_value=240)

    class Meta:
        model = Opening
        fields = ["id", "room", "date", "weekdays", "start_time", "end_time", "slot_minutes"]
        read_only_fields = ["id", "room"]


class ClosureSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    affected = serializers.ChoiceField(
        choices=["cancel"],
        required=False,
        write_only=True,
        help_text='what to do with the active bookings it falls on: "cancel" (their donors are told the reason)',
    )

    class Meta:
        model = Closure
        fields = ["id", "room", "start_date", "end_date", "reason", "affected"]
        read_only_fields = ["id", "room"]


class SlotRoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    available = serializers.BooleanField()
    free_rooms = SlotRoomSerializer(many=True)
    open_rooms = serializers.ListField(
        child=serializers.IntegerField(), help_text="ids of the rooms open in this slot, free or not"
    )


# Days asked for in a query string. The slot engine and the date filters also compute the day
# before and after, which the extremes of Python's date range (0001-01-01, 9999-12-31) lack.
QUERY_DATES = (date(2000, 1, 1), date(2999, 12, 31))


def query_date_in_range(value: date) -> None:
    first, last = QUERY_DATES
    if not first <= value <= last:
        raise serializers.ValidationError(
            gettext("Give a date between %(first)s and %(last)s.") % {"first": first, "last": last}
        )


class SlotQuerySerializer(serializers.Serializer):
    date = serializers.DateField(validators=[query_date_in_range])


class RoomBoardBookingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.CharField()
    donor_code = serializers.CharField()


class RoomStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=["free", "booked", "in_use", "door_alarm"])
    lock = serializers.ChoiceField(choices=["ok", "offline", "none"])
    lock_offline_since = serializers.DateTimeField(allow_null=True)
    current = RoomBoardBookingSerializer(allow_null=True)
    next = RoomBoardBookingSerializer(allow_null=True)
