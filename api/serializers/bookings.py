"""Shapes of bookings. Identity (name, phone) only for holders of view_donor_identity."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import DateTimeField, IdField
from api.serializers.rooms import query_date_in_range
from clinic.accounts import policy
from clinic.bookings import journey
from clinic.bookings.models import Booking, Purpose, Status


class BookingCreateSerializer(serializers.Serializer):
    room = IdField()
    start = DateTimeField()
    donor = serializers.CharField(required=False, max_length=20, help_text="staff only: user id or donor code")
    purpose = serializers.ChoiceField(
        choices=Purpose.values, required=False, help_text="by default the one the client's donor status allows"
    )


class DonorIdentitySerializer(serializers.Serializer):
    name = serializers.CharField()
    phone = serializers.CharField()


class BookingSerializer(serializers.ModelSerializer):
    room_name = serializers.CharField(source="room.name")
    donor_code = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "room",
            "room_name",
            "start",
            "end",
            "status",
            "staff_review",
            "room_review",
            "donor_code",
            "purpose",
            "payment",
            "created",
            "checked_in_at",
            "checked_out_at",
        ]

    def get_donor_code(self, booking: Booking) -> str | None:
        profile = getattr(booking.donor, "donor_profile", None)
        return profile.donor_code if profile else None


class BookingWithIdentitySerializer(BookingSerializer):
    donor = serializers.SerializerMethodField()
    donor_status = serializers.SerializerMethodField()

    class Meta(BookingSerializer.Meta):
        fields = BookingSerializer.Meta.fields + ["donor", "donor_status"]

    def get_donor(self, booking: Booking) -> dict:
        profile = getattr(booking.donor, "donor_profile", None)
        return {"name": profile.real_name if profile else "", "phone": booking.donor.phone}

    def get_donor_status(self, booking: Booking) -> str | None:
        profile = getattr(booking.donor, "donor_profile", None)
        return journey.status_of(profile) if profile else None


class BookingListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.values, required=False)
    date = serializers.DateField(required=False, validators=[query_date_in_range])
    room = IdField(required=False)


def _serializer_class(user) -> type[BookingSerializer]:
    return BookingWithIdentitySerializer if policy.can_see_donor_identity(user) else BookingSerializer


def booking_data(user, booking: Booking) -> dict:
    return _serializer_class(user)(booking).data


def bookings_data(user, bookings: list[Booking]) -> list[dict]:
    """Many bookings through one serializer (its fields are built once, not once per booking)."""
    return list(_serializer_class(user)(bookings, many=True).data)
