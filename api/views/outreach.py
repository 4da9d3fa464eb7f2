"""Promotions, consultations (questions to staff) and the FAQ."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import Pagination, paginated
from api.permissions import Allow
from api.serializers import outreach as s
from api.throttles import QuestionsPerAddress, QuestionsPerUser
from clinic.accounts import policy
from clinic.accounts import services as account_services
from clinic.errors import Forbidden
from clinic.outreach import services


class PromotionsView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.PromotionAnswerSerializer(many=True)})
    def get(self, request):
        if policy.can_manage_promotions(request.user) and request.query_params.get("all") == "1":
            items = list(services.all_promotions_with_reads()[:200])
            counts = services.read_counts([p.pk for p in items])
            for item in items:  # the serializer's `sent` and `read`
                setattr(item, "sent", counts.get(item.pk, {}).get("sent", 0))  # noqa: B010
                setattr(item, "read", counts.get(item.pk, {}).get("read", 0))  # noqa: B010
            return Response(s.PromotionStaffSerializer(items, many=True, context={"request": request}).data)
        items = services.visible_promotions(request.user)
        return Response(s.PromotionSerializer(items, many=True, context={"request": request}).data)

    @extend_schema(request=s.PromotionCreateSerializer, responses={201: s.PromotionSerializer})
    def post(self, request):
        if not request.user.is_authenticated:
            from rest_framework.exceptions import NotAuthenticated

            raise NotAuthenticated()
        if not policy.can_manage_promotions(request.user):
            raise Forbidden("You may not publish promotions.")
        body = s.PromotionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        promotion = services.create_promotion(actor=request.user, **body.validated_data)
        return Response(s.PromotionSerializer(promotion).data, status=status.HTTP_201_CREATED)


class PromotionsShownView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.PromotionsShownSerializer, responses={200: s.PromotionsShownSerializer})
    def post(self, request):
        """The promotions a page showed the caller: they count as read in staff's figures."""
        body = s.PromotionsShownSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        marked = services.mark_shown(request.user, body.validated_data["promotions"])
        return Response({"promotions": body.validated_data["promotions"], "marked": marked})


def _client_ip(request) -> str | None:
    return account_services.client_address(request) or None


def consultation_data(user, consultation) -> dict:
    """Staff who may see identities also get the asker and his phone."""
    if policy.can_see_consultation_askers(user):
        return s.ConsultationStaffSerializer(consultation).data
    return s.ConsultationSerializer(consultation).data


class ConsultationsView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [QuestionsPerUser, QuestionsPerAddress]

    @extend_schema(
        operation_id="consultations_list",
        responses={200: paginated(s.ConsultationAnswerSerializer(many=True), "PaginatedConsultationList")},
    )
    def get(self, request):
        if not request.user.is_authenticated:
            from rest_framework.exceptions import NotAuthenticated

            raise NotAuthenticated()
        items = services.visible_consultations(request.user)
        if request.query_params.get("open") == "1":
            items = items.filter(answered_at__isnull=True)
        elif request.query_params.get("answered") == "1":
            items = items.filter(answered_at__isnull=False).order_by("-answered_at", "-id")
        paginator = Pagination()
        page = paginator.page_items(items, request, view=self)
        return paginator.get_paginated_response([consultation_data(request.user, c) for c in page])

    @extend_schema(request=s.AskSerializer, responses={201: s.AskedSerializer})
    def post(self, request):
        body = s.AskSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        consultation = services.ask(asker=request.user, client_ip=_client_ip(request), **body.validated_data)
        return Response(s.AskedSerializer(consultation).data, status=status.HTTP_201_CREATED)


class AnswerView(APIView):
    permission_classes = [Allow(policy.can_answer_consultations)]

    @extend_schema(request=s.AnswerSerializer, responses={200: s.ConsultationStaffSerializer})
    def post(self, request, pk: int):
        body = s.AnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        consultation = services.answer(actor=request.user, consultation_id=pk, text=body.validated_data["answer"])
        return Response(consultation_data(request.user, consultation))


class FaqView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.FaqSerializer(many=True)})
    def get(self, request):
        return Response(s.FaqSerializer(services.faq(), many=True).data)
