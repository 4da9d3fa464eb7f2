"""Shapes of fee items and payment orders. Amounts are integer fen, never floats."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.fields import IdField
from clinic.payments.models import FeeItem, PaymentOrder
from clinic.payments.services import is_credit

MAX_FEN = 2_147_483_647  # the column's limit


class FenField(serializers.IntegerField):
    """A JSON integer only: 500.0, "500" and true are refused (DRF's IntegerField takes them)."""

    default_error_messages = {"not_fen": "Give the amount as a whole number of fen, e.g. 80000 for ¥800.00."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_FEN)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("not_fen")
        return super().to_internal_value(data)


class FeeItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = FeeItem
        fields = ["code", "name", "amount_fen", "active"]


class FeeItemCreateSerializer(serializers.Serializer):
    code = serializers.SlugField(max_length=40)
    name = serializers.CharField(max_length=100)
    amount_fen = FenField()
    active = serializers.BooleanField(default=True)


class FeeItemUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    amount_fen = FenField(required=False)
    active = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if "code" in self.initial_data:
            raise serializers.ValidationError({"code": ["The code cannot change; create a new item instead."]})
        if not attrs:
            raise serializers.ValidationError("Give name, amount_fen or active.")
        return attrs


class FeeItemListQuerySerializer(serializers.Serializer):
    all = serializers.BooleanField(default=False, help_text="staff: include inactive items")


class PaymentCreateSerializer(serializers.Serializer):
    item = serializers.SlugField(max_length=40, help_text="a fee item's code")
    booking = IdField(required=False, allow_null=True)


class PaymentOrderSerializer(serializers.ModelSerializer):
    item: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    item_name = serializers.CharField(source="item.name", read_only=True)
    credit = serializers.SerializerMethodField(help_text="paid for a booking that will not happen: pays the next one")

    def get_credit(self, order: PaymentOrder) -> bool:
        return is_credit(order)

    class Meta:
        model = PaymentOrder
        fields = [
            "id",
            "reference",
            "item",
            "item_name",
            "amount_fen",
            "status",
            "provider",
            "code_url",
            "booking",
            "created",
            "paid_at",
            "closed_at",
            "credit",
            "refund_method",
            "refund_requested_at",
            "refunded_at",
        ]


class PaymentListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PaymentOrder.Status.values, required=False)
    reference = serializers.CharField(max_length=32, required=False)
    booking = IdField(required=False)
    credit = serializers.BooleanField(default=False, help_text="paid orders whose booking will not happen")


class ConfirmSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class NotificationAnswerSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class RefundSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, help_text="why the money goes back (audited)")
