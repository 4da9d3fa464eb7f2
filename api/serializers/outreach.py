"""Shapes of promotions, consultations and FAQ entries."""

from rest_framework import serializers

from clinic.outreach.models import Consultation, FaqEntry, Promotion
from clinic.outreach.services import AUDIENCES


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


class PromotionCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120)
    body = serializers.CharField(max_length=5000)
    audience = serializers.ListField(child=serializers.ChoiceField(choices=AUDIENCES), min_length=1, max_length=6)
    publish_from = serializers.DateTimeField(required=False, allow_null=True)
    publish_until = serializers.DateTimeField(required=False, allow_null=True)


class ConsultationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Consultation
        fields = ["id", "question", "answer", "created", "answered_at"]


class ConsultationStaffSerializer(ConsultationSerializer):
    asker = serializers.SerializerMethodField()

    class Meta(ConsultationSerializer.Meta):
        fields = ConsultationSerializer.Meta.fields + ["contact", "asker"]

    def get_asker(self, consultation: Consultation) -> str | None:
        return consultation.asker.username if consultation.asker else None


class AskSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=2000)
    contact = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class AnswerSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=5000)


class FaqSerializer(serializers.ModelSerializer):
    class Meta:
        model = FaqEntry
        fields = ["id", "question", "answer"]
