"""Shapes of promotions, consultations and FAQ entries."""

from datetime import datetime

from django.utils.translation import gettext
from rest_framework import serializers

from api.serializers.fields import DateTimeField, IdField
from clinic.outreach.models import Consultation, FaqEntry, Promotion
from clinic.outreach.services import AUDIENCES, private_link


class PromotionSerializer(serializers.ModelSerializer):
    image = serializers.ImageField(read_only=True)

    class Meta:
        model = Promotion
        fields = ["id", "title", "body", "image", "audience", "publish_from", "publish_until", "created"]


class PromotionStaffSerializer(PromotionSerializer):
    sent = serializers.IntegerField(read_only=True)
    read = serializers.IntegerField(read_only=True)

    class Meta(PromotionSerializer.Meta):
        fields = PromotionSerializer.Meta.fields + ["pushed_at", "sent", "read"]


class PromotionAnswerSerializer(PromotionSerializer):
    """The documented shape of GET /api/promotions/: staff asking `?all=1` also get the push
    time and the sent/read counts."""

    pushed_at = serializers.DateTimeField(required=False, allow_null=True)
    sent = serializers.IntegerField(required=False)
    read = serializers.IntegerField(required=False)

    class Meta(PromotionSerializer.Meta):
        fields = PromotionSerializer.Meta.fields + ["pushed_at", "sent", "read"]


def publication_time_in_range(value: datetime) -> None:
    """A publication time in this millennium: year 512 in Asia/Shanghai has a +08:05:43 (local
    mean time) offset, which no ISO 8601 reader accepts back."""
    if not 2000 <= value.year <= 2999:
        raise serializers.ValidationError(gettext("Give a time between the years 2000 and 2999."))


class PromotionCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    body = serializers.CharField(max_length=5000)
    audience = serializers.ListField(child=serializers.ChoiceField(choices=AUDIENCES), min_length=1, max_length=6)
    publish_from = DateTimeField(required=False, allow_null=True, validators=[publication_time_in_range])
    publish_until = DateTimeField(required=False, allow_null=True, validators=[publication_time_in_range])


class ConsultationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consultation
        fields = ["id", "question", "answer", "created", "answered_at"]


class AskedSerializer(ConsultationSerializer):
    """The answer to the asker alone: the private link where the answer will be."""

    link = serializers.SerializerMethodField(help_text="the private page of this question and its answer")

    class Meta(ConsultationSerializer.Meta):
        fields = ConsultationSerializer.Meta.fields + ["link"]

    def get_link(self, consultation: Consultation) -> str:
        return private_link(consultation)


class ConsultationStaffSerializer(ConsultationSerializer):
    asker = serializers.SerializerMethodField()

    class Meta(ConsultationSerializer.Meta):
        fields = ConsultationSerializer.Meta.fields + ["contact", "asker"]

    def get_asker(self, consultation: Consultation) -> str | None:
        return consultation.asker.username if consultation.asker else None


class ConsultationAnswerSerializer(ConsultationSerializer):
    """The documented shape of a listed question: staff (manage_promotions) also get the
    contact phone and the asker's username."""

    contact = serializers.CharField(required=False, allow_blank=True)
    asker = serializers.CharField(required=False, allow_null=True)

    class Meta(ConsultationSerializer.Meta):
        fields = ConsultationSerializer.Meta.fields + ["contact", "asker"]


class PromotionsShownSerializer(serializers.Serializer):
    promotions = serializers.ListField(child=IdField(), min_length=1, max_length=50)
    marked = serializers.IntegerField(read_only=True)


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000)
    contact = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)


class FaqSerializer(serializers.ModelSerializer):
    class Meta:
        model = FaqEntry
        fields = ["id", "question", "answer"]
