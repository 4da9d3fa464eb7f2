"""Shapes of account requests and answers."""

from __future__ import annotations

from rest_framework import serializers

from clinic.accounts import roles
from clinic.bookings import journey


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    phone = serializers.CharField(max_length=32)
    role = serializers.ChoiceField(choices=roles.CLIENT_ROLES, default=roles.DONOR)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    real_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=18, default="")


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class AccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    donor_code = serializers.CharField(allow_null=True)


class RegisteredSerializer(AccountSerializer):
    token = serializers.CharField()


class MeSerializer(AccountSerializer):
    email = serializers.EmailField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    permissions = serializers.ListField(child=serializers.CharField())
    real_name = serializers.CharField(required=False)
    id_number = serializers.CharField(required=False)
    donor_status = serializers.CharField(
        required=False, allow_null=True, help_text="clients only; null: self-preservation"
    )
    purposes = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="clients only: what his status lets him book"
    )


class MeUpdateSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    real_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=18)
    password = serializers.CharField(required=False, max_length=128, trim_whitespace=False)
    current_password = serializers.CharField(required=False, max_length=128, trim_whitespace=False)


class CreateUserSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    role = serializers.ChoiceField(choices=roles.STAFF_ROLES)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class RoleSerializer(serializers.Serializer):
    name = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())


class RolePermissionsSerializer(serializers.Serializer):
    permissions = serializers.ListField(child=serializers.CharField(max_length=200), max_length=200)


def account_data(user) -> dict:
    return {"id": user.pk, "username": user.username, "roles": user.roles, "donor_code": user.donor_code}


def me_data(user) -> dict:
    data = account_data(user) | {
        "email": user.email,
        "phone": user.phone,
        "permissions": sorted(user.get_all_permissions()),
    }
    profile = getattr(user, "donor_profile", None)
    if profile is not None:
        # A client always sees his own identity; others need view_donor_identity.
        data |= {
            "real_name": profile.real_name,
            "id_number": profile.id_number,
            "donor_status": journey.status_of(profile),
            "purposes": list(journey.allowed_purposes(profile)),
        }
    return data


class SocketTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="seconds")
