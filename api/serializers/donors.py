"""Shapes of the staff's donor search and donor status changes (identity: view_donor_identity)."""

from __future__ import annotations

from rest_framework import serializers

from clinic.accounts.models import DonorProfile, DonorStatus
from clinic.bookings import journey


class DonorQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, help_text="code, phone or name")


class DonorSerializer(serializers.Serializer):
    donor_code = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField()
    role = serializers.CharField(help_text="donor or self_preservation")
    donor_status = serializers.CharField(allow_null=True)
    donations = serializers.IntegerField(help_text="completed donation visits")
    last_donation = serializers.DateTimeField(allow_null=True)


class DonorUpdateSerializer(serializers.Serializer):
    donor_status = serializers.ChoiceField(choices=DonorStatus.values)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="", help_text="staff-only")


def donor_data(profile: DonorProfile) -> dict:
    """A profile annotated by `journey.with_donations`."""
    last_donation = getattr(profile, "last_donation", None)
    return {
        "donor_code": profile.donor_code,
        "name": profile.real_name,
        "phone": profile.user.phone,
        "role": "self_preservation" if profile.purpose == DonorProfile.Purpose.SELF_PRESERVATION else "donor",
        "donor_status": journey.status_of(profile),
        "donations": getattr(profile, "donations", 0),
        "last_donation": serializers.DateTimeField().to_representation(last_donation) if last_donation else None,
    }
