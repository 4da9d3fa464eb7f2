"""Shapes of notifications: the list item is the same object the socket pushes."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import MAX_ID
from clinic.notifications.models import Kind, Notification
from clinic.notifications.services import own_data


class NotificationSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=Kind.choices)
    read = serializers.BooleanField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "booking", "created", "read"]

    def to_representation(self, instance: Notification) -> dict:
        shown = super().to_representation(instance)
        data = own_data(instance)  # only kinds with fields of their own (slot.offered: start, room)
        return shown if data is None else shown | {"data": data}


class NotificationListQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_ID, help_text="only notifications with a greater id"
    )
    unread = serializers.BooleanField(required=False, help_text="only those not read yet (`count`: how many)")
