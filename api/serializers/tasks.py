"""Shapes of workflow tasks and review decisions."""

from rest_framework import serializers

from api.serializers.bookings import BookingSerializer
from api.serializers.fields import DateTimeField, IdField


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["staff_review", "room_review"])
    status = serializers.CharField()
    created = serializers.DateTimeField()
    booking = BookingSerializer()
    awaiting_payment = serializers.BooleanField()


class ReviewResultSerializer(serializers.Serializer):
    """What approving or rejecting a task answers: the booking as it now stands."""

    booking = BookingSerializer()


class ApproveSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    room = serializers.IntegerField(required=False, min_value=1, allow_null=True)


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="what the donor is told")
    comment = serializers.CharField(
        required=False, allow_blank=True, max_length=500, default="", help_text="staff-only note"
    )


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class RescheduleSerializer(serializers.Serializer):
    room = IdField()
    start = DateTimeField()
