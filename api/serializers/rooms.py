"""Shapes of rooms, opening hours, closures and slots."""

from __future__ import annotations

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
            "door_sensor_input": room.door_sensor_input,
        }


class OpeningSerializer(serializers.ModelSerializer):
    date = serializers.DateField(required=False, allow_null=True)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, max_length=7
    )
    start_time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"])
    end_time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M", "%H:%M:%S"])
    slot_minutes = serializers.IntegerField(min_value=5, max_value=240)

    class Meta:
        model = Opening
        fields = ["id", "room", "date", "weekdays", "start_time", "end_time", "slot_minutes"]
        read_only_fields = ["id", "room"]


class ClosureSerializer(serializers.ModelSerializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    class Meta:
        model = Closure
        fields = ["id", "room", "start_date", "end_date", "reason"]
        read_only_fields = ["id", "room"]


class SlotRoomSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    available = serializers.BooleanField()
    free_rooms = SlotRoomSerializer(many=True)


class SlotQuerySerializer(serializers.Serializer):
    date = serializers.DateField()


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
    current = RoomBoardBookingSerializer(allow_null=True)
    next = RoomBoardBookingSerializer(allow_null=True)
